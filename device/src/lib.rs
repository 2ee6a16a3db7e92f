//! facepay-device: the JNI layer (see the device issue).
