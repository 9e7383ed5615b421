// Signature-only stub of org.pytorch:executorch-android (version in ../VERSION), written for the kit's compile
// check: it lists only the API the app uses, with the signatures the AAR exposes to Java. Not the library.
package org.pytorch.executorch;

import java.io.Closeable;

public class Module implements Closeable {
    public static final int LOAD_MODE_FILE = 0;
    public static final int LOAD_MODE_MMAP = 1;
    public static final int LOAD_MODE_MMAP_USE_MLOCK = 2;
    public static final int LOAD_MODE_MMAP_USE_MLOCK_IGNORE_ERRORS = 3;

    private Module() {
        throw new UnsupportedOperationException("stub");
    }

    public static Module load(String modelPath) {
        throw new UnsupportedOperationException("stub");
    }

    public static Module load(String modelPath, int loadMode) {
        throw new UnsupportedOperationException("stub");
    }

    public static Module load(String modelPath, int loadMode, int numThreads) {
        throw new UnsupportedOperationException("stub");
    }

    public EValue[] forward(EValue... inputs) {
        throw new UnsupportedOperationException("stub");
    }

    public EValue[] execute(String methodName, EValue... inputs) {
        throw new UnsupportedOperationException("stub");
    }

    public void loadMethod(String methodName) {
        throw new UnsupportedOperationException("stub");
    }

    public String[] getMethods() {
        throw new UnsupportedOperationException("stub");
    }

    public MethodMetadata getMethodMetadata(String name) {
        throw new UnsupportedOperationException("stub");
    }

    public boolean etdump() {
        throw new UnsupportedOperationException("stub");
    }

    public void destroy() {
        throw new UnsupportedOperationException("stub");
    }

    @Override
    public void close() {
        throw new UnsupportedOperationException("stub");
    }
}
