package org.edgelabkit.demo.core;

import java.util.Map;
import java.util.Random;

/**
 * Lab 07's on-device training data as the export writes it: N small RGB images (uint8, N × H × W × 3),
 * one uint8 label each, and the batches a training run takes (a fresh seeded shuffle every epoch;
 * the training program was exported for exactly {@code batch} examples per step).
 */
public final class TrainingSet {
    public final int count;
    public final int height;
    public final int width;
    public final int batch;
    public final int featureDim;
    public final int numClasses;
    public final int steps;
    public final double learningRate;
    public final String program;
    public final long programBytes;
    public final String features;
    public final long featuresBytes;
    public final String images;
    public final String labels;
    public final String preprocess;

    private TrainingSet(Map<String, Object> t) {
        count = whole(t, "count");
        height = whole(t, "height");
        width = whole(t, "width");
        batch = whole(t, "batch");
        featureDim = whole(t, "feature_dim");
        numClasses = whole(t, "num_classes");
        steps = whole(t, "steps");
        learningRate = PreprocessSpec.number(t, "lr");
        program = text(t, "program");
        programBytes = (long) PreprocessSpec.number(t, "program_bytes");
        features = text(t, "features");
        featuresBytes = (long) PreprocessSpec.number(t, "features_bytes");
        images = text(t, "images");
        labels = text(t, "labels");
        preprocess = text(t, "preprocess");
        if (batch <= 0 || count < batch) {
            throw new IllegalArgumentException("training set: " + count + " images cannot fill a batch of " + batch);
        }
    }

    /** The "training" object of manifest.json, or an error saying how to get one. */
    @SuppressWarnings("unchecked")
    public static TrainingSet fromManifest(String manifestJson) {
        Object training = Json.parseObject(manifestJson).get("training");
        if (!(training instanceof Map)) {
            throw new IllegalArgumentException("manifest.json has no training program: run lab 07, then labkit export-android");
        }
        return new TrainingSet((Map<String, Object>) training);
    }

    private static int whole(Map<String, Object> t, String key) {
        double v = PreprocessSpec.number(t, key);
        if (v != Math.rint(v)) {
            throw new IllegalArgumentException("training." + key + " must be a whole number");
        }
        return (int) v;
    }

    private static String text(Map<String, Object> t, String key) {
        Object v = t.get(key);
        if (!(v instanceof String)) {
            throw new IllegalArgumentException("training." + key + " must be a string");
        }
        return (String) v;
    }

    /** Checks the image and label files' sizes against the manifest and returns the labels as longs. */
    public long[] labels(byte[] imageBytes, byte[] labelBytes) {
        if (imageBytes.length != (long) count * height * width * 3) {
            throw new IllegalArgumentException(images + " has " + imageBytes.length + " bytes, expected " + count + " × "
                    + height + " × " + width + " × 3: export again");
        }
        if (labelBytes.length != count) {
            throw new IllegalArgumentException(labels + " has " + labelBytes.length + " labels, expected " + count);
        }
        long[] out = new long[count];
        for (int i = 0; i < count; i++) {
            out[i] = labelBytes[i] & 0xff;
            if (out[i] >= numClasses) {
                throw new IllegalArgumentException("label " + out[i] + " of image " + i + " is not below " + numClasses);
            }
        }
        return out;
    }

    /** RGB bytes of image {@code i}. */
    public byte[] image(byte[] imageBytes, int i) {
        int size = height * width * 3;
        byte[] out = new byte[size];
        System.arraycopy(imageBytes, i * size, out, 0, size);
        return out;
    }

    /** Indices of every step's batch: epochs of a shuffled order (seeded), a partial last batch dropped. */
    public int[][] batches(long seed) {
        int perEpoch = count / batch;
        int[][] out = new int[steps][];
        Random random = new Random(seed);
        int[] order = new int[count];
        for (int step = 0; step < steps; step++) {
            int slot = step % perEpoch;
            if (slot == 0) {
                for (int i = 0; i < count; i++) {
                    order[i] = i;
                }
                for (int i = count - 1; i > 0; i--) {
                    int j = random.nextInt(i + 1);
                    int tmp = order[i];
                    order[i] = order[j];
                    order[j] = tmp;
                }
            }
            out[step] = new int[batch];
            System.arraycopy(order, slot * batch, out[step], 0, batch);
        }
        return out;
    }
}
