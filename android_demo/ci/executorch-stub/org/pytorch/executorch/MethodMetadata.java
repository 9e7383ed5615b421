// Signature-only stub of org.pytorch:executorch-android (version in ../VERSION), written for the kit's compile
// check: it lists only the API the app uses, with the signatures the AAR exposes to Java. Not the library.
package org.pytorch.executorch;

public final class MethodMetadata {
    private MethodMetadata() {
    }

    public String getName() {
        throw new UnsupportedOperationException("stub");
    }

    public String[] getBackends() {
        throw new UnsupportedOperationException("stub");
    }
}
