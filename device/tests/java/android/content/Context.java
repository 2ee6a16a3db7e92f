package android.content;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;

/**
 * Minimal stand-in for Android's Context (desktop tests only). Each instance has its own
 * files directory (a fresh temp directory), as one app install would.
 */
public class Context {
    private final File filesDir;

    public Context() {
        try {
            filesDir = Files.createTempDirectory("facepay-files").toFile();
            filesDir.deleteOnExit();
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }

    public File getFilesDir() {
        return filesDir;
    }
}
