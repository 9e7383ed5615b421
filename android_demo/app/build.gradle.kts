plugins {
    id("com.android.application")
}

android {
    namespace = "org.edgelabkit.demo"
    compileSdk = 35

    defaultConfig {
        applicationId = "org.edgelabkit.demo"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        ndk {
            // ExecuTorch's AAR ships these two; a phone is arm64-v8a, the emulator x86_64.
            abiFilters += listOf("arm64-v8a", "x86_64")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_1_8
        targetCompatibility = JavaVersion.VERSION_1_8
    }

    packaging {
        jniLibs {
            // Native libraries stay uncompressed and page-aligned in the APK (needed on 16 KB-page devices).
            useLegacyPackaging = false
        }
    }

    androidResources {
        // .pte files are copied to filesDir before Module.load; storing them uncompressed makes that a plain copy.
        noCompress += listOf("pte")
    }

    testOptions {
        unitTests.all {
            // Golden files written by `labkit export-android` (see README.md).
            it.systemProperty("golden.dir", file("src/test/resources/golden").absolutePath)
        }
    }
}

dependencies {
    // Same version as the pip package executorch that exports the models (requirements.txt).
    implementation("org.pytorch:executorch-android:1.5.1")
    testImplementation("junit:junit:4.13.2")
}
