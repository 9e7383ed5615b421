package org.edgelabkit.demo.core;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the model expects, read from the {@code preprocess.json} the labs write
 * ({@code labkit.model.preprocessing.PreprocessSpec.to_json}). Unknown keys and unsupported values are errors,
 * so a spec this app cannot follow exactly is refused instead of silently approximated.
 */
public final class PreprocessSpec {
    private static final Set<String> KEYS = new HashSet<>(Arrays.asList(
            "resize_short_side", "crop_size", "mean", "std", "interpolation", "antialias", "channel_order",
            "layout", "dtype", "value_scale", "notes", "input_shape"));

    public final int resizeShortSide;
    public final int cropSize;
    public final float[] mean;
    public final float[] std;
    public final float valueScale;

    private PreprocessSpec(int resizeShortSide, int cropSize, float[] mean, float[] std, float valueScale) {
        this.resizeShortSide = resizeShortSide;
        this.cropSize = cropSize;
        this.mean = mean;
        this.std = std;
        this.valueScale = valueScale;
    }

    /** Reads and checks a preprocess.json text. */
    public static PreprocessSpec fromJson(String text) {
        Map<String, Object> data = Json.parseObject(text);
        Set<String> unknown = new HashSet<>(data.keySet());
        unknown.removeAll(KEYS);
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("preprocess.json has keys this app does not know: " + unknown
                    + "; export again with the kit's labkit export-android");
        }
        require(data, "interpolation", "bilinear");
        require(data, "antialias", Boolean.TRUE);
        require(data, "channel_order", "RGB");
        require(data, "layout", "NCHW");
        require(data, "dtype", "float32");
        int resize = integer(data, "resize_short_side");
        int crop = integer(data, "crop_size");
        if (crop <= 0 || resize < crop) {
            throw new IllegalArgumentException("preprocess.json: resize_short_side (" + resize
                    + ") must be at least crop_size (" + crop + ")");
        }
        PreprocessSpec spec = new PreprocessSpec(resize, crop, triple(data, "mean"), triple(data, "std"),
                (float) number(data, "value_scale"));
        for (float s : spec.std) {
            if (s <= 0f) {
                throw new IllegalArgumentException("preprocess.json: every std must be positive");
            }
        }
        if (data.containsKey("input_shape")) {
            long[] shape = longs(data.get("input_shape"), "input_shape");
            if (!Arrays.equals(shape, spec.inputShape())) {
                throw new IllegalArgumentException("preprocess.json: input_shape " + Arrays.toString(shape)
                        + " does not match crop_size " + crop + " (expected " + Arrays.toString(spec.inputShape()) + ")");
            }
        }
        return spec;
    }

    /** The model input shape this spec produces for one image: 1 × 3 × crop × crop. */
    public long[] inputShape() {
        return new long[] {1, 3, cropSize, cropSize};
    }

    private static void require(Map<String, Object> data, String key, Object expected) {
        Object value = data.get(key);
        if (!expected.equals(value)) {
            throw new IllegalArgumentException("preprocess.json: " + key + " is " + value + "; this app implements "
                    + expected + " only (the pipeline in labkit/model/preprocessing.py)");
        }
    }

    static double number(Map<String, Object> data, String key) {
        Object value = data.get(key);
        if (!(value instanceof Double)) {
            throw new IllegalArgumentException("preprocess.json: " + key + " must be a number, got " + Json.describe(value));
        }
        return (Double) value;
    }

    private static int integer(Map<String, Object> data, String key) {
        double value = number(data, key);
        if (value != Math.rint(value)) {
            throw new IllegalArgumentException("preprocess.json: " + key + " must be a whole number, got " + value);
        }
        return (int) value;
    }

    private static float[] triple(Map<String, Object> data, String key) {
        Object value = data.get(key);
        if (!(value instanceof List) || ((List<?>) value).size() != 3) {
            throw new IllegalArgumentException("preprocess.json: " + key + " must be a list of 3 numbers (R, G, B)");
        }
        float[] out = new float[3];
        for (int i = 0; i < 3; i++) {
            Object item = ((List<?>) value).get(i);
            if (!(item instanceof Double)) {
                throw new IllegalArgumentException("preprocess.json: " + key + "[" + i + "] is not a number");
            }
            out[i] = ((Double) item).floatValue();
        }
        return out;
    }

    static long[] longs(Object value, String what) {
        if (!(value instanceof List)) {
            throw new IllegalArgumentException(what + " must be a list of whole numbers");
        }
        List<?> list = (List<?>) value;
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) {
            Object item = list.get(i);
            if (!(item instanceof Double) || (Double) item != Math.rint((Double) item)) {
                throw new IllegalArgumentException(what + "[" + i + "] is not a whole number");
            }
            out[i] = ((Double) item).longValue();
        }
        return out;
    }
}
