// Signature-only stub of org.pytorch:executorch-android (version in ../VERSION), written for the kit's compile
// check: it lists only the API the app uses, with the signatures the AAR exposes to Java. Not the library.
package org.pytorch.executorch.training;

import java.io.Closeable;
import java.util.Map;

import org.pytorch.executorch.EValue;
import org.pytorch.executorch.Tensor;

public class TrainingModule implements Closeable {
    private TrainingModule() {
    }

    public static TrainingModule load(String modelPath) {
        throw new UnsupportedOperationException("stub");
    }

    public static TrainingModule load(String modelPath, String dataPath) {
        throw new UnsupportedOperationException("stub");
    }

    public EValue[] executeForwardBackward(String methodName, EValue... inputs) {
        throw new UnsupportedOperationException("stub");
    }

    public Map<String, Tensor> namedParameters(String methodName) {
        throw new UnsupportedOperationException("stub");
    }

    public Map<String, Tensor> namedGradients(String methodName) {
        throw new UnsupportedOperationException("stub");
    }

    @Override
    public void close() {
        throw new UnsupportedOperationException("stub");
    }
}
