package org.edgelabkit.demo;

import android.app.Activity;
import android.content.Intent;
import android.os.Bundle;
import android.os.Handler;
import android.os.Looper;
import android.os.SystemClock;
import android.view.View;
import android.widget.AdapterView;
import android.widget.ArrayAdapter;
import android.widget.Button;
import android.widget.ImageView;
import android.widget.Spinner;
import android.widget.TextView;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.edgelabkit.demo.core.ErrorCodes;
import org.edgelabkit.demo.core.Labels;
import org.edgelabkit.demo.core.LatencyStats;
import org.edgelabkit.demo.core.ModelManifest;
import org.edgelabkit.demo.core.PreprocessSpec;
import org.edgelabkit.demo.core.Prediction;
import org.edgelabkit.demo.core.Preprocessor;
import org.edgelabkit.demo.core.TopK;
import org.edgelabkit.demo.core.Versions;
import org.pytorch.executorch.EValue;
import org.pytorch.executorch.ExecutorchRuntimeException;
import org.pytorch.executorch.Module;
import org.pytorch.executorch.Tensor;

/**
 * Classifies the bundled sample photos or a picked image with the exported model, showing the top-5,
 * the load time, the first and the average inference time and the thread count.
 */
public class MainActivity extends Activity {
    private static final int PICK_IMAGE = 1;
    /** Timed calls per image after the first (the first pays for lazy setup and is shown apart). */
    private static final int REPEATS = 10;

    private final ExecutorService worker = Executors.newSingleThreadExecutor();
    private final Handler ui = new Handler(Looper.getMainLooper());
    private final int threads = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));

    private ImageView image;
    private TextView status;
    private TextView results;
    private Spinner precision;
    private Button sample;
    private Button pick;
    private Button train;

    private ModelManifest manifest;
    private Preprocessor preprocessor;
    private Labels labels;
    private long[] inputShape;
    private Module module;
    private String loadedPrecision;
    private double loadMs;
    private boolean overridden;
    private int nextSample;

    @Override
    protected void onCreate(Bundle savedInstanceState) {
        super.onCreate(savedInstanceState);
        setContentView(R.layout.activity_main);
        image = findViewById(R.id.image);
        status = findViewById(R.id.status);
        results = findViewById(R.id.results);
        precision = findViewById(R.id.precision);
        sample = findViewById(R.id.classify_sample);
        pick = findViewById(R.id.pick_image);
        train = findViewById(R.id.open_training);
        setButtons(false);
        sample.setOnClickListener(new View.OnClickListener() {
            @Override
            public void onClick(View v) {
                classifyNextSample();
            }
        });
        pick.setOnClickListener(new View.OnClickListener() {
            @Override
            public void onClick(View v) {
                Intent intent = new Intent(Intent.ACTION_GET_CONTENT);
                intent.setType("image/*");
                intent.addCategory(Intent.CATEGORY_OPENABLE);
                startActivityForResult(Intent.createChooser(intent, getString(R.string.pick_image)), PICK_IMAGE);
            }
        });
        train.setOnClickListener(new View.OnClickListener() {
            @Override
            public void onClick(View v) {
                startActivity(new Intent(MainActivity.this, TrainingActivity.class));
            }
        });
        status.setText(R.string.loading);
        worker.execute(new Runnable() {
            @Override
            public void run() {
                loadAssets();
            }
        });
    }

    @Override
    protected void onDestroy() {
        worker.shutdownNow();
        if (module != null) {
            module.destroy();
        }
        super.onDestroy();
    }

    private void setButtons(boolean enabled) {
        sample.setEnabled(enabled);
        pick.setEnabled(enabled);
        precision.setEnabled(enabled);
        train.setEnabled(enabled && manifest != null && manifest.trainingProgram != null);
    }

    /** Reads manifest.json, preprocess.json and labels.txt and checks they fit together and this runtime. */
    private void loadAssets() {
        try {
            ModelManifest m = ModelManifest.fromJson(Assets.readText(this, "manifest.json"));
            m.checkRuntime(Versions.EXECUTORCH);
            PreprocessSpec spec = PreprocessSpec.fromJson(Assets.readText(this, m.preprocessFile));
            m.checkInput(spec);
            labels = Labels.parse(Assets.readText(this, m.labelsFile), m.numClasses);
            preprocessor = new Preprocessor(spec);
            inputShape = spec.inputShape();
            manifest = m;
            final List<String> choices = new ArrayList<>();
            for (ModelManifest.ModelFile f : m.models) {
                choices.add(f.precision);
            }
            ui.post(new Runnable() {
                @Override
                public void run() {
                    ArrayAdapter<String> adapter = new ArrayAdapter<>(MainActivity.this,
                            android.R.layout.simple_spinner_item, choices);
                    adapter.setDropDownViewResource(android.R.layout.simple_spinner_dropdown_item);
                    precision.setAdapter(adapter);
                    precision.setOnItemSelectedListener(new AdapterView.OnItemSelectedListener() {
                        @Override
                        public void onItemSelected(AdapterView<?> parent, View view, int position, long id) {
                            results.setText("");
                        }

                        @Override
                        public void onNothingSelected(AdapterView<?> parent) {
                        }
                    });
                    status.setText(getString(R.string.ready, manifest.model, Versions.EXECUTORCH, threads));
                    setButtons(true);
                }
            });
        } catch (IOException | RuntimeException e) {
            showError(getString(R.string.error_assets), e);
        }
    }

    private void classifyNextSample() {
        if (manifest.samples.isEmpty()) {
            showError(getString(R.string.error_assets), new IOException("manifest.json lists no sample photos"));
            return;
        }
        final String name = manifest.samples.get(nextSample++ % manifest.samples.size());
        runInBackground(name, new ImageSource() {
            @Override
            public Images.Pixels load() throws IOException {
                return Images.fromAsset(getAssets(), name);
            }
        });
    }

    @Override
    protected void onActivityResult(int requestCode, int resultCode, final Intent data) {
        super.onActivityResult(requestCode, resultCode, data);
        if (requestCode != PICK_IMAGE || resultCode != RESULT_OK || data == null || data.getData() == null) {
            return;
        }
        runInBackground(String.valueOf(data.getData().getLastPathSegment()), new ImageSource() {
            @Override
            public Images.Pixels load() throws IOException {
                return Images.fromUri(getContentResolver(), data.getData());
            }
        });
    }

    private interface ImageSource {
        Images.Pixels load() throws IOException;
    }

    private void runInBackground(final String name, final ImageSource source) {
        final String chosen = (String) precision.getSelectedItem();
        setButtons(false);
        status.setText(getString(R.string.classifying, name, chosen));
        worker.execute(new Runnable() {
            @Override
            public void run() {
                try {
                    final Images.Pixels pixels = source.load();
                    ui.post(new Runnable() {
                        @Override
                        public void run() {
                            image.setImageBitmap(pixels.bitmap);
                        }
                    });
                    final String text = classify(pixels, chosen);
                    ui.post(new Runnable() {
                        @Override
                        public void run() {
                            results.setText(text);
                            status.setText(getString(R.string.done, name));
                            setButtons(true);
                        }
                    });
                } catch (IOException | RuntimeException e) {
                    showError(name, e);
                }
            }
        });
    }

    /** Loads the chosen program if needed (copied to filesDir: ExecuTorch reads files, not assets). */
    private void ensureModel(String chosen) throws IOException {
        if (module != null && chosen.equals(loadedPrecision)) {
            return;
        }
        if (module != null) {
            module.destroy();
            module = null;
        }
        ModelManifest.ModelFile file = manifest.model(chosen);
        // A program pushed with adb (README: "a different model") wins over the bundled asset.
        File override = new File(getFilesDir(), "override_" + file.file);
        File path = override.isFile() ? override : Assets.copyToFiles(this, file.file, file.bytes);
        overridden = override.isFile();
        long start = SystemClock.elapsedRealtimeNanos();
        Module loaded = Module.load(path.getAbsolutePath(), Module.LOAD_MODE_MMAP, threads);
        loaded.loadMethod("forward");  // surfaces a bad program here, with its error code, not at the first call
        loadMs = (SystemClock.elapsedRealtimeNanos() - start) / 1e6;
        module = loaded;
        loadedPrecision = chosen;
    }

    private String classify(Images.Pixels pixels, String chosen) throws IOException {
        ensureModel(chosen);
        float[] input = preprocessor.fromArgb(pixels.argb, pixels.width, pixels.height);
        Tensor tensor = Tensor.fromBlob(input, inputShape);
        LatencyStats stats = new LatencyStats();
        float[] logits = null;
        for (int i = 0; i <= REPEATS; i++) {
            long start = SystemClock.elapsedRealtimeNanos();
            EValue[] outputs = module.forward(EValue.from(tensor));
            stats.add((SystemClock.elapsedRealtimeNanos() - start) / 1e6);
            if (outputs.length == 0 || !outputs[0].isTensor()) {
                throw new IllegalStateException("the program returned no tensor: is this a classifier exported by the kit?");
            }
            Tensor out = outputs[0].toTensor();
            if (!Arrays.equals(out.shape(), new long[] {1, manifest.numClasses})) {
                throw new IllegalStateException("the program returned shape " + Arrays.toString(out.shape()) + ", expected [1, "
                        + manifest.numClasses + "]");
            }
            logits = out.getDataAsFloatArray();
        }
        StringBuilder text = new StringBuilder();
        for (Prediction p : TopK.topK(logits, labels, 5)) {
            text.append(p).append('\n');
        }
        text.append(String.format(Locale.ROOT, "\n%s · %d × %d px · load %.1f ms · first call %.1f ms · "
                        + "average of the next %d: %.1f ms (median %.1f) · %d threads",
                chosen + (overridden ? " (override_" + manifest.model(chosen).file + ")" : ""), pixels.width, pixels.height, loadMs, stats.firstMs(), REPEATS, stats.averageAfterFirstMs(),
                stats.medianAfterFirstMs(), threads));
        return text.toString();
    }

    /** Shows what went wrong, decoding ExecuTorch's error code when there is one. */
    private void showError(final String what, final Exception e) {
        final String message;
        if (e instanceof ExecutorchRuntimeException) {
            message = getString(R.string.error_executorch, what,
                    ErrorCodes.decode(((ExecutorchRuntimeException) e).getErrorCode()), e.getMessage());
        } else {
            message = getString(R.string.error_other, what, e.getMessage());
        }
        ui.post(new Runnable() {
            @Override
            public void run() {
                status.setText(message);
                setButtons(manifest != null);
            }
        });
    }
}
