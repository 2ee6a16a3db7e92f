package android.content.pm;

/** Stand-in for Android's PackageInfo (desktop tests only): the fields facepay reads. */
public class PackageInfo {
    public String packageName;
    public String versionName;
}
