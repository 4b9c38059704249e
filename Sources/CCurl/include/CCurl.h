// Typed wrappers over libcurl's variadic entry points, which Swift cannot call directly.
#ifndef REPLICA_RECOMMENDER_CCURL_H
#define REPLICA_RECOMMENDER_CCURL_H

#include <curl/curl.h>

typedef size_t (*rr_curl_write_callback)(char *data, size_t size, size_t count, void *context);

static inline CURLcode rr_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode rr_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode rr_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode rr_curl_setopt_write_function(CURL *handle, rr_curl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}

static inline CURLcode rr_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

#endif
