// Signature-only stub of org.pytorch:executorch-android (version in ../VERSION), written for the kit's compile
// check: it lists only the API the app uses, with the signatures the AAR exposes to Java. Not the library.
package org.pytorch.executorch;

public final class EValue {
    private EValue() {
    }

    public static EValue from(Tensor tensor) {
        throw new UnsupportedOperationException("stub");
    }

    public static EValue from(long value) {
        throw new UnsupportedOperationException("stub");
    }

    public static EValue from(double value) {
        throw new UnsupportedOperationException("stub");
    }

    public boolean isTensor() {
        throw new UnsupportedOperationException("stub");
    }

    public Tensor toTensor() {
        throw new UnsupportedOperationException("stub");
    }
}
