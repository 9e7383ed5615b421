package org.edgelabkit.demo.core;

import java.util.ArrayList;
import java.util.List;

/** Softmax and top-k of a logits vector, as {@code labkit.model.predictions.top_k} computes them. */
public final class TopK {
    private TopK() {
    }

    /** Softmax in float64 with the maximum subtracted (no overflow for large logits). */
    public static double[] softmax(float[] logits) {
        if (logits.length == 0) {
            throw new IllegalArgumentException("the model returned no logits");
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            if (Float.isNaN(v)) {
                throw new IllegalArgumentException("the model returned NaN: the input was probably not preprocessed");
            }
            max = Math.max(max, v);
        }
        double[] out = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            out[i] = Math.exp(logits[i] - max);
            sum += out[i];
        }
        for (int i = 0; i < out.length; i++) {
            out[i] /= sum;
        }
        return out;
    }

    /** The {@code k} most probable classes, highest first; ties keep the lower index first. */
    public static List<Prediction> topK(float[] logits, Labels labels, int k) {
        if (labels.size() != logits.length) {
            throw new IllegalArgumentException("the model returned " + logits.length + " logits but there are "
                    + labels.size() + " labels");
        }
        double[] p = softmax(logits);
        int n = Math.min(k, p.length);
        int[] best = new int[n];
        boolean[] taken = new boolean[p.length];
        for (int r = 0; r < n; r++) {
            int arg = -1;
            for (int i = 0; i < p.length; i++) {
                if (!taken[i] && (arg < 0 || p[i] > p[arg])) {
                    arg = i;
                }
            }
            taken[arg] = true;
            best[r] = arg;
        }
        List<Prediction> out = new ArrayList<>();
        for (int index : best) {
            out.add(new Prediction(index, labels.name(index), (float) p[index]));
        }
        return out;
    }
}
