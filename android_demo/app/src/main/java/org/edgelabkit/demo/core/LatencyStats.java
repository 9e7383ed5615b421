package org.edgelabkit.demo.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Inference times of one loaded model: the first call apart (it pays for lazy setup), then the rest. */
public final class LatencyStats {
    private final List<Double> millis = new ArrayList<>();

    public void add(double ms) {
        millis.add(ms);
    }

    public int count() {
        return millis.size();
    }

    /** The first call's time, or NaN before any call. */
    public double firstMs() {
        return millis.isEmpty() ? Double.NaN : millis.get(0);
    }

    /** Mean of every call after the first (NaN until there are two). */
    public double averageAfterFirstMs() {
        if (millis.size() < 2) {
            return Double.NaN;
        }
        double sum = 0;
        for (int i = 1; i < millis.size(); i++) {
            sum += millis.get(i);
        }
        return sum / (millis.size() - 1);
    }

    /** Median of every call after the first (NaN until there are two). */
    public double medianAfterFirstMs() {
        if (millis.size() < 2) {
            return Double.NaN;
        }
        List<Double> rest = new ArrayList<>(millis.subList(1, millis.size()));
        Collections.sort(rest);
        int n = rest.size();
        return n % 2 == 1 ? rest.get(n / 2) : (rest.get(n / 2 - 1) + rest.get(n / 2)) / 2;
    }
}
