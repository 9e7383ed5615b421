// Signature-only stub of org.pytorch:executorch-android (version in ../VERSION), written for the kit's compile
// check: it lists only the API the app uses, with the signatures the AAR exposes to Java. Not the library.
package org.pytorch.executorch.training;

import java.util.Map;

import org.pytorch.executorch.Tensor;

public class SGD {
    private SGD() {
    }

    public static SGD create(Map<String, Tensor> namedParameters, double learningRate) {
        throw new UnsupportedOperationException("stub");
    }

    public static SGD create(Map<String, Tensor> namedParameters, double learningRate, double momentum,
                             double dampening, double weightDecay, boolean nesterov) {
        throw new UnsupportedOperationException("stub");
    }

    public void step(Map<String, Tensor> namedGradients) {
        throw new UnsupportedOperationException("stub");
    }
}
