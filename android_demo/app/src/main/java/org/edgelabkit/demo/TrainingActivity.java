package org.edgelabkit.demo;

import android.app.Activity;
import android.os.Bundle;
import android.os.Handler;
import android.os.Looper;
import android.os.SystemClock;
import android.view.View;
import android.widget.Button;
import android.widget.ProgressBar;
import android.widget.TextView;

import java.io.File;
import java.io.IOException;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import org.edgelabkit.demo.core.ErrorCodes;
import org.edgelabkit.demo.core.PreprocessSpec;
import org.edgelabkit.demo.core.Preprocessor;
import org.edgelabkit.demo.core.TrainingSet;
import org.pytorch.executorch.EValue;
import org.pytorch.executorch.ExecutorchRuntimeException;
import org.pytorch.executorch.Module;
import org.pytorch.executorch.Tensor;
import org.pytorch.executorch.training.SGD;
import org.pytorch.executorch.training.TrainingModule;

/**
 * Lab 07 on the phone: the frozen backbone (.pte) turns bundled handwritten digits into features, then
 * the training program (joint forward + backward, exported by lab 07) and ExecuTorch's SGD train the
 * new head, step by step, with the loss shown as it falls. No image leaves the device.
 */
public class TrainingActivity extends Activity {
    private static final long SHUFFLE_SEED = 6;

    private final ExecutorService worker = Executors.newSingleThreadExecutor();
    private final Handler ui = new Handler(Looper.getMainLooper());
    private TextView status;
    private TextView log;
    private ProgressBar progress;
    private Button train;
    private TrainingSet set;

    @Override
    protected void onCreate(Bundle savedInstanceState) {
        super.onCreate(savedInstanceState);
        setContentView(R.layout.activity_training);
        status = findViewById(R.id.training_status);
        log = findViewById(R.id.training_log);
        progress = findViewById(R.id.training_progress);
        train = findViewById(R.id.train);
        try {
            set = TrainingSet.fromManifest(Assets.readText(this, "manifest.json"));
        } catch (IOException | RuntimeException e) {
            status.setText(getString(R.string.training_missing) + "\n" + e.getMessage());
            train.setEnabled(false);
            return;
        }
        train.setText(getString(R.string.train_start, set.steps));
        progress.setMax(set.steps);
        train.setOnClickListener(new View.OnClickListener() {
            @Override
            public void onClick(View v) {
                train.setEnabled(false);
                log.setText("");
                worker.execute(new Runnable() {
                    @Override
                    public void run() {
                        trainHead();
                    }
                });
            }
        });
    }

    @Override
    protected void onDestroy() {
        worker.shutdownNow();
        super.onDestroy();
    }

    private void post(final String statusText, final String logLine, final int step) {
        ui.post(new Runnable() {
            @Override
            public void run() {
                if (statusText != null) {
                    status.setText(statusText);
                }
                if (logLine != null) {
                    log.append(logLine + "\n");
                }
                if (step >= 0) {
                    progress.setProgress(step);
                }
            }
        });
    }

    private void trainHead() {
        Module backbone = null;
        TrainingModule trainer = null;
        try {
            byte[] images = Assets.readBytes(this, set.images);
            long[] labels = set.labels(images, Assets.readBytes(this, set.labels));
            Preprocessor preprocessor = new Preprocessor(PreprocessSpec.fromJson(Assets.readText(this, set.preprocess)));
            File featuresPte = Assets.copyToFiles(this, set.features, set.featuresBytes);
            File programPte = Assets.copyToFiles(this, set.program, set.programBytes);

            post("computing features of " + set.count + " digits with the frozen backbone…", null, 0);
            backbone = Module.load(featuresPte.getAbsolutePath());
            float[][] features = new float[set.count][];
            long start = SystemClock.elapsedRealtimeNanos();
            for (int i = 0; i < set.count; i++) {
                float[] input = preprocessor.fromRgb(set.image(images, i), set.width, set.height);
                Tensor x = Tensor.fromBlob(input, preprocessor.inputShape());
                features[i] = backbone.forward(EValue.from(x))[0].toTensor().getDataAsFloatArray();
                if (features[i].length != set.featureDim) {
                    throw new IllegalStateException("the backbone returned " + features[i].length + " features, the "
                            + "training program expects " + set.featureDim + ": export lab 07's files together");
                }
            }
            double featureMs = (SystemClock.elapsedRealtimeNanos() - start) / 1e6;
            post(null, String.format(Locale.ROOT, "features: %d images in %.0f ms", set.count, featureMs), -1);

            trainer = TrainingModule.load(programPte.getAbsolutePath());
            Map<String, Tensor> parameters = trainer.namedParameters("forward");
            SGD sgd = SGD.create(parameters, set.learningRate);
            int[][] batches = set.batches(SHUFFLE_SEED);
            float firstLoss = Float.NaN;
            float loss = Float.NaN;
            for (int step = 0; step < batches.length; step++) {
                float[] x = new float[set.batch * set.featureDim];
                long[] y = new long[set.batch];
                for (int b = 0; b < set.batch; b++) {
                    System.arraycopy(features[batches[step][b]], 0, x, b * set.featureDim, set.featureDim);
                    y[b] = labels[batches[step][b]];
                }
                long t0 = SystemClock.elapsedRealtimeNanos();
                EValue[] out = trainer.executeForwardBackward("forward",
                        EValue.from(Tensor.fromBlob(x, new long[] {set.batch, set.featureDim})),
                        EValue.from(Tensor.fromBlob(y, new long[] {set.batch})));
                sgd.step(trainer.namedGradients("forward"));
                double ms = (SystemClock.elapsedRealtimeNanos() - t0) / 1e6;
                loss = out[0].toTensor().getDataAsFloatArray()[0];
                if (step == 0) {
                    firstLoss = loss;
                }
                post(null, getString(R.string.training_step, step + 1, batches.length, loss, ms), step + 1);
            }
            post(String.format(Locale.ROOT, "done: loss %.3f → %.3f over %d steps of %d digits (lr %.3g)",
                    firstLoss, loss, batches.length, set.batch, set.learningRate), null, batches.length);
        } catch (ExecutorchRuntimeException e) {
            post("ExecuTorch error " + ErrorCodes.decode(e.getErrorCode()) + "\n" + e.getMessage(), null, -1);
        } catch (IOException | RuntimeException e) {
            post(e.getMessage(), null, -1);
        } finally {
            if (backbone != null) {
                backbone.destroy();
            }
            if (trainer != null) {
                trainer.close();
            }
            ui.post(new Runnable() {
                @Override
                public void run() {
                    train.setEnabled(true);
                }
            });
        }
    }
}
