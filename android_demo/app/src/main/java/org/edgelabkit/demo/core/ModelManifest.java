package org.edgelabkit.demo.core;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/** manifest.json as {@code labkit export-android} writes it: versions, input shape, model files. */
public final class ModelManifest {
    /** One exported program: its precision, asset file name, size and SHA-256. */
    public static final class ModelFile {
        public final String precision;
        public final String file;
        public final long bytes;
        public final String sha256;

        ModelFile(String precision, String file, long bytes, String sha256) {
            this.precision = precision;
            this.file = file;
            this.bytes = bytes;
            this.sha256 = sha256;
        }
    }

    public final String executorchVersion;
    public final String model;
    public final long[] inputShape;
    public final int numClasses;
    public final String labelsFile;
    public final String preprocessFile;
    public final List<ModelFile> models;
    public final List<String> samples;
    /** Lab 07's training program and feature extractor, or null when they were not exported. */
    public final String trainingProgram;
    public final String trainingFeatures;

    private ModelManifest(Map<String, Object> data) {
        executorchVersion = text(data, "executorch");
        model = text(data, "model");
        inputShape = PreprocessSpec.longs(data.get("input_shape"), "manifest.json input_shape");
        numClasses = (int) PreprocessSpec.number(data, "num_classes");
        labelsFile = text(data, "labels");
        preprocessFile = text(data, "preprocess");
        List<ModelFile> files = new ArrayList<>();
        Object list = data.get("models");
        if (!(list instanceof List) || ((List<?>) list).isEmpty()) {
            throw new IllegalArgumentException("manifest.json lists no models: run labkit export-android");
        }
        for (Object item : (List<?>) list) {
            if (!(item instanceof Map)) {
                throw new IllegalArgumentException("manifest.json: every entry of models must be an object");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> entry = (Map<String, Object>) item;
            files.add(new ModelFile(text(entry, "precision"), text(entry, "file"),
                    (long) PreprocessSpec.number(entry, "bytes"), text(entry, "sha256")));
        }
        models = Collections.unmodifiableList(files);
        List<String> photos = new ArrayList<>();
        Object sampleList = data.get("samples");
        if (sampleList instanceof List) {
            for (Object s : (List<?>) sampleList) {
                photos.add(String.valueOf(s));
            }
        }
        samples = Collections.unmodifiableList(photos);
        Object training = data.get("training");
        if (training instanceof Map) {
            @SuppressWarnings("unchecked")
            Map<String, Object> t = (Map<String, Object>) training;
            trainingProgram = text(t, "program");
            trainingFeatures = text(t, "features");
        } else {
            trainingProgram = null;
            trainingFeatures = null;
        }
    }

    public static ModelManifest fromJson(String text) {
        return new ModelManifest(Json.parseObject(text));
    }

    private static String text(Map<String, Object> data, String key) {
        Object value = data.get(key);
        if (!(value instanceof String)) {
            throw new IllegalArgumentException("manifest.json: " + key + " must be a string, got " + Json.describe(value));
        }
        return (String) value;
    }

    /**
     * Refuses a model exported by another ExecuTorch version than the runtime in this app: programs and
     * delegate blobs are only guaranteed to load in the runtime version they were made for.
     */
    public void checkRuntime(String runtimeVersion) {
        if (!runtimeVersion.equals(executorchVersion)) {
            throw new IllegalStateException("the model was exported with executorch " + executorchVersion
                    + " but this app bundles the runtime " + runtimeVersion + ": export again with the kit's pinned "
                    + "executorch (make lab; labkit export-android), or change executorch-android in app/build.gradle.kts");
        }
    }

    /** The exported input shape must be the shape the preprocessing produces. */
    public void checkInput(PreprocessSpec spec) {
        if (!Arrays.equals(inputShape, spec.inputShape())) {
            throw new IllegalStateException("the model takes " + Arrays.toString(inputShape) + " but preprocess.json makes "
                    + Arrays.toString(spec.inputShape()) + ": export the model and preprocess.json together");
        }
    }

    /** The entry for {@code precision} ("fp32", "int8"), or null. */
    public ModelFile model(String precision) {
        for (ModelFile f : models) {
            if (f.precision.equals(precision)) {
                return f;
            }
        }
        return null;
    }
}
