package org.edgelabkit.demo.core;

import java.util.Locale;

/** One of the top-k classes: index, name and softmax probability. */
public final class Prediction {
    public final int index;
    public final String label;
    public final float probability;

    public Prediction(int index, String label, float probability) {
        this.index = index;
        this.label = label;
        this.probability = probability;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%5.1f%%  %s (%d)", 100f * probability, label, index);
    }
}
