// Signature-only stub of org.pytorch:executorch-android (version in ../VERSION), written for the kit's compile
// check: it lists only the API the app uses, with the signatures the AAR exposes to Java. Not the library.
package org.pytorch.executorch;

public class ExecutorchRuntimeException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    public static final int OK = 0x00;
    public static final int INTERNAL = 0x01;
    public static final int INVALID_ARGUMENT = 0x12;
    public static final int OPERATOR_MISSING = 0x14;
    public static final int ACCESS_FAILED = 0x22;
    public static final int INVALID_PROGRAM = 0x23;
    public static final int DELEGATE_INVALID_COMPATIBILITY = 0x30;

    public ExecutorchRuntimeException(int errorCode, String details) {
        super(details);
        throw new UnsupportedOperationException("stub");
    }

    public int getErrorCode() {
        throw new UnsupportedOperationException("stub");
    }

    public String getDetailedError() {
        throw new UnsupportedOperationException("stub");
    }
}
