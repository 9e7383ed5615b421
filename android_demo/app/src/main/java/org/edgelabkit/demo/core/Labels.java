package org.edgelabkit.demo.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Class names from labels.txt: one per line, line number = class index (as data/imagenet_classes.txt). */
public final class Labels {
    private final List<String> names;

    private Labels(List<String> names) {
        this.names = Collections.unmodifiableList(names);
    }

    /** Parses labels.txt; {@code expectedCount} is the model's number of outputs (from the manifest). */
    public static Labels parse(String text, int expectedCount) {
        List<String> names = new ArrayList<>();
        for (String line : text.split("\r?\n", -1)) {
            names.add(line.trim());
        }
        while (!names.isEmpty() && names.get(names.size() - 1).isEmpty()) {
            names.remove(names.size() - 1);  // a trailing newline is not a class
        }
        if (names.size() != expectedCount) {
            throw new IllegalArgumentException("labels.txt has " + names.size() + " lines but the model has "
                    + expectedCount + " classes: export the labels and the model together (labkit export-android)");
        }
        for (int i = 0; i < names.size(); i++) {
            if (names.get(i).isEmpty()) {
                throw new IllegalArgumentException("labels.txt line " + (i + 1) + " is empty");
            }
        }
        return new Labels(names);
    }

    public int size() {
        return names.size();
    }

    public String name(int index) {
        return names.get(index);
    }
}
