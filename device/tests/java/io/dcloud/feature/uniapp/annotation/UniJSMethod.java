package io.dcloud.feature.uniapp.annotation;

import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;

/** Compile-time stand-in for uni-app's method annotation. */
@Retention(RetentionPolicy.RUNTIME)
public @interface UniJSMethod {
    boolean uiThread() default true;
}
