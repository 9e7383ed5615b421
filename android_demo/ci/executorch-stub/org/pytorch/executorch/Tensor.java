// Signature-only stub of org.pytorch:executorch-android (version in ../VERSION), written for the kit's compile
// check: it lists only the API the app uses, with the signatures the AAR exposes to Java. Not the library.
package org.pytorch.executorch;

public abstract class Tensor {
    Tensor() {
    }

    public static Tensor fromBlob(float[] data, long[] shape) {
        throw new UnsupportedOperationException("stub");
    }

    public static Tensor fromBlob(long[] data, long[] shape) {
        throw new UnsupportedOperationException("stub");
    }

    public static Tensor fromBlob(int[] data, long[] shape) {
        throw new UnsupportedOperationException("stub");
    }

    public static Tensor fromBlob(byte[] data, long[] shape) {
        throw new UnsupportedOperationException("stub");
    }

    public static Tensor fromBlobUnsigned(byte[] data, long[] shape) {
        throw new UnsupportedOperationException("stub");
    }

    public long[] shape() {
        throw new UnsupportedOperationException("stub");
    }

    public long numel() {
        throw new UnsupportedOperationException("stub");
    }

    public abstract DType dtype();

    public float[] getDataAsFloatArray() {
        throw new UnsupportedOperationException("stub");
    }

    public long[] getDataAsLongArray() {
        throw new UnsupportedOperationException("stub");
    }
}
