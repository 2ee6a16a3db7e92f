package android.content;

/** Stand-in for Android's Intent (desktop tests only): an action and a package. */
public class Intent {
    private final String action;
    private String pkg;

    public Intent(String action) {
        this.action = action;
    }

    public Intent setPackage(String packageName) {
        this.pkg = packageName;
        return this;
    }

    public String getAction() {
        return action;
    }

    public String getPackage() {
        return pkg;
    }
}
