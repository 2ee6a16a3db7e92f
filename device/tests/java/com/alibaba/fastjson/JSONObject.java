package com.alibaba.fastjson;

import java.util.HashMap;
import java.util.Map;

/** Compile-time stand-in for fastjson's JSONObject, which is a Map. */
public class JSONObject extends HashMap<String, Object> {
    public JSONObject() {}

    public JSONObject(Map<String, Object> m) {
        super(m);
    }
}
