/* floe's C ABI from C: every function of include/floe.h, its results and its error paths.
 *
 * Built and run by .ci/embed against the static library, under valgrind:
 *
 *   cc -std=c11 -Wall -Wextra -Werror -I capi/include capi/tests/test.c \
 *      target/debug/libfloe_capi.a -lpthread -ldl -lm -o target/floe-capi-test
 *   valgrind --error-exitcode=1 --leak-check=full target/floe-capi-test
 *
 * Each CHECK prints the line and what it got when it fails; the program ends with
 * "N passed, N failed" and exits 1 if any failed. */
#define _DEFAULT_SOURCE /* mkdtemp, usleep */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floe.h"

static int passed = 0;
static int failed = 0;

#define CHECK(condition)                                                   \
    do {                                                                   \
        if (condition) {                                                   \
            passed++;                                                      \
        } else {                                                           \
            failed++;                                                      \
            fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__,     \
                    #condition);                                           \
        }                                                                  \
    } while (0)

/* A call's status, compared with the expected one; prints both when they differ. */
#define CHECK_STATUS(call, expected)                                           \
    do {                                                                       \
        FloeStatus status_ = (call);                                           \
        if (status_ == (expected)) {                                           \
            passed++;                                                          \
        } else {                                                               \
            failed++;                                                          \
            fprintf(stderr, "%s:%d: %s returned %d, expected %s (%d)\n",       \
                    __FILE__, __LINE__, #call, (int)status_, #expected,        \
                    (int)(expected));                                          \
        }                                                                      \
    } while (0)

#define KEY(text) (const uint8_t *)(text), strlen(text)

/* The message of the last failure on `db` (or this thread's, with NULL). */
static const char *last_error(const FloeDb *db) {
    static char message[512];
    size_t size = 0;
    if (floe_last_error(db, message, sizeof message, &size) != FLOE_STATUS_OK) {
        return "(floe_last_error failed)";
    }
    return message;
}

static void test_options(void) {
    FloeOptions options;
    CHECK_STATUS(floe_options_default(NULL), FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_options_default(&options), FLOE_STATUS_OK);
    CHECK(options.memory_size == 64u << 20);
    CHECK(options.keys_max == 1u << 20);
    CHECK(options.persistence == 1);
    CHECK(options.fsync == FLOE_FSYNC_ALWAYS);
    CHECK(options.eviction == FLOE_EVICTION_NOEVICTION);
}

static void test_open_refusals(const char *dir) {
    FloeOptions options;
    FloeDb *db = NULL;
    floe_options_default(&options);
    options.memory_size = 1 << 20;
    options.keys_max = 1000;

    CHECK_STATUS(floe_open(NULL, &options, &db), FLOE_STATUS_NULL_POINTER);
    CHECK(strstr(last_error(NULL), "null") != NULL);
    CHECK_STATUS(floe_open(dir, NULL, &db), FLOE_STATUS_NULL_POINTER);
    CHECK(strstr(last_error(NULL), "options") != NULL);
    CHECK_STATUS(floe_open(dir, &options, NULL), FLOE_STATUS_NULL_POINTER);

    FloeOptions bad = options;
    bad.fsync = 7;
    CHECK_STATUS(floe_open(dir, &bad, &db), FLOE_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(last_error(NULL), "fsync 7") != NULL);
    bad = options;
    bad.eviction = 42;
    CHECK_STATUS(floe_open(dir, &bad, &db), FLOE_STATUS_INVALID_ARGUMENT);
    bad = options;
    bad.persistence = 2;
    CHECK_STATUS(floe_open(dir, &bad, &db), FLOE_STATUS_INVALID_ARGUMENT);
    bad = options;
    bad.memory_size = 16; /* fewer than the minimum segments */
    CHECK_STATUS(floe_open(dir, &bad, &db), FLOE_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(last_error(NULL), "invalid configuration") != NULL);
    CHECK(db == NULL); /* nothing written on failure */

    /* A directory under a regular file cannot be created. */
    CHECK_STATUS(floe_open("/dev/null/floe", &options, &db), FLOE_STATUS_IO);
}

static void test_get_set(FloeDb *db) {
    uint8_t value[16];
    size_t size = 0;

    CHECK_STATUS(floe_set(db, KEY("greeting"), KEY("hello")), FLOE_STATUS_OK);
    CHECK_STATUS(floe_get(db, KEY("greeting"), value, sizeof value, &size), FLOE_STATUS_OK);
    CHECK(size == 5 && memcmp(value, "hello", 5) == 0);

    /* Too small: the needed size comes back, the buffer is untouched. */
    memset(value, 'x', sizeof value);
    size = 0;
    CHECK_STATUS(floe_get(db, KEY("greeting"), value, 2, &size), FLOE_STATUS_BUFFER_TOO_SMALL);
    CHECK(size == 5 && value[0] == 'x' && value[1] == 'x');
    size = 0;
    CHECK_STATUS(floe_get(db, KEY("greeting"), NULL, 0, &size), FLOE_STATUS_BUFFER_TOO_SMALL);
    CHECK(size == 5);

    CHECK_STATUS(floe_get(db, KEY("absent"), value, sizeof value, &size), FLOE_STATUS_NOT_FOUND);

    /* Empty keys and values are values like any other. */
    CHECK_STATUS(floe_set(db, NULL, 0, NULL, 0), FLOE_STATUS_OK);
    CHECK_STATUS(floe_get(db, NULL, 0, NULL, 0, &size), FLOE_STATUS_OK);
    CHECK(size == 0);

    /* Null pointers and bad lengths: refused, with the argument named on the handle. */
    CHECK_STATUS(floe_get(db, KEY("greeting"), value, sizeof value, NULL),
                 FLOE_STATUS_NULL_POINTER);
    CHECK(strstr(last_error(db), "value_size") != NULL);
    CHECK_STATUS(floe_get(db, NULL, 3, value, sizeof value, &size), FLOE_STATUS_NULL_POINTER);
    CHECK(strstr(last_error(db), "`key` is null") != NULL);
    CHECK_STATUS(floe_get(db, KEY("greeting"), NULL, 8, &size), FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_get(db, (const uint8_t *)"k", SIZE_MAX, value, sizeof value, &size),
                 FLOE_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(last_error(db), "isize::MAX") != NULL);
    size_t words[2];
    size_t *misaligned = (size_t *)((char *)words + 1);
    CHECK_STATUS(floe_get(db, KEY("greeting"), value, sizeof value, misaligned),
                 FLOE_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(last_error(db), "`value_size` is misaligned") != NULL);
    CHECK_STATUS(floe_set(db, NULL, 1, KEY("v")), FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_set(db, KEY("k"), NULL, 1), FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_set(db, KEY("k"), (const uint8_t *)"v", SIZE_MAX),
                 FLOE_STATUS_INVALID_ARGUMENT);

    /* Over the limits: refused, nothing changed. */
    uint64_t before = 0;
    uint64_t after = 0;
    CHECK_STATUS(floe_len(db, &before), FLOE_STATUS_OK);
    size_t big_size = 1 << 20;
    uint8_t *big = calloc(big_size, 1);
    CHECK_STATUS(floe_set(db, big, 100 * 1024, KEY("v")), FLOE_STATUS_KEY_TOO_LARGE);
    CHECK(strstr(last_error(db), "key-size-max") != NULL);
    CHECK_STATUS(floe_set(db, KEY("big"), big, big_size), FLOE_STATUS_VALUE_TOO_LARGE);
    CHECK_STATUS(floe_set_with_ttl(db, KEY("big"), big, big_size, 1000),
                 FLOE_STATUS_VALUE_TOO_LARGE);
    free(big);
    CHECK_STATUS(floe_len(db, &after), FLOE_STATUS_OK);
    CHECK(before == after);
    CHECK_STATUS(floe_get(db, KEY("greeting"), value, sizeof value, &size), FLOE_STATUS_OK);
    CHECK(size == 5 && memcmp(value, "hello", 5) == 0);
}

static void test_ttl_delete_exists_len(FloeDb *db) {
    bool flag = false;
    uint64_t count = 0;
    uint8_t value[16];
    size_t size = 0;

    CHECK_STATUS(floe_set_with_ttl(db, KEY("session"), KEY("token"), 0),
                 FLOE_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(last_error(db), "ttl_ms") != NULL);
    CHECK_STATUS(floe_set_with_ttl(db, NULL, 2, KEY("token"), 100), FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_set_with_ttl(db, KEY("session"), NULL, 5, 100), FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_set_with_ttl(db, KEY("session"), KEY("token"), 100), FLOE_STATUS_OK);
    CHECK_STATUS(floe_exists(db, KEY("session"), &flag), FLOE_STATUS_OK);
    CHECK(flag);
    usleep(250 * 1000);
    CHECK_STATUS(floe_exists(db, KEY("session"), &flag), FLOE_STATUS_OK);
    CHECK(!flag);
    CHECK_STATUS(floe_get(db, KEY("session"), value, sizeof value, &size), FLOE_STATUS_NOT_FOUND);
    CHECK_STATUS(floe_exists(db, KEY("session"), NULL), FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_exists(db, NULL, 1, &flag), FLOE_STATUS_NULL_POINTER);

    CHECK_STATUS(floe_set(db, KEY("doomed"), KEY("x")), FLOE_STATUS_OK);
    CHECK_STATUS(floe_delete(db, KEY("doomed"), NULL), FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_exists(db, KEY("doomed"), &flag), FLOE_STATUS_OK);
    CHECK(flag); /* the refused delete changed nothing */
    CHECK_STATUS(floe_delete(db, KEY("doomed"), &flag), FLOE_STATUS_OK);
    CHECK(flag);
    CHECK_STATUS(floe_delete(db, KEY("doomed"), &flag), FLOE_STATUS_OK);
    CHECK(!flag);
    CHECK_STATUS(floe_delete(db, NULL, 4, &flag), FLOE_STATUS_NULL_POINTER);

    CHECK_STATUS(floe_len(db, &count), FLOE_STATUS_OK);
    CHECK(count == 2); /* "greeting" and the empty key */
    CHECK_STATUS(floe_len(db, NULL), FLOE_STATUS_NULL_POINTER);
}

static void test_flush_stats_last_error(FloeDb *db) {
    FloeStats stats;
    memset(&stats, 0, sizeof stats);
    CHECK_STATUS(floe_flush(db), FLOE_STATUS_OK);
    CHECK_STATUS(floe_stats(db, &stats), FLOE_STATUS_OK);
    CHECK(stats.keys == 2);
    CHECK(stats.hits >= 3);
    CHECK(stats.misses >= 2);
    CHECK(stats.memory_limit_size > 0);
    CHECK(stats.memory_live_size > 0);
    CHECK(stats.lsn_last >= 4);
    CHECK(stats.log_sync_count > 0);
    CHECK(stats.log_byte_count > 0);
    CHECK_STATUS(floe_stats(db, NULL), FLOE_STATUS_NULL_POINTER);

    /* The message of the last failure: the null `stats` just above. */
    char message[64];
    size_t size = 0;
    CHECK_STATUS(floe_last_error(db, message, sizeof message, &size), FLOE_STATUS_OK);
    CHECK(strcmp(message, "`stats` is null") == 0);
    CHECK(size == strlen("`stats` is null") + 1);
    memset(message, 'x', sizeof message);
    CHECK_STATUS(floe_last_error(db, message, 3, &size), FLOE_STATUS_BUFFER_TOO_SMALL);
    CHECK(size == strlen("`stats` is null") + 1 && message[0] == 'x');
    CHECK_STATUS(floe_last_error(db, NULL, 0, &size), FLOE_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(floe_last_error(db, message, sizeof message, NULL), FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_last_error(db, NULL, 8, &size), FLOE_STATUS_NULL_POINTER);
}

static void test_durable(const char *dir) {
    FloeOptions options;
    FloeDb *db = NULL;
    FloeDb *second = NULL;
    floe_options_default(&options);
    options.memory_size = 1 << 20;
    options.keys_max = 1000;

    CHECK_STATUS(floe_open(dir, &options, &db), FLOE_STATUS_OK);
    CHECK(db != NULL);
    CHECK(strcmp(last_error(db), "") == 0); /* no failure on this handle yet */

    /* The directory is held: a second open is refused, and the first keeps working. */
    CHECK_STATUS(floe_open(dir, &options, &second), FLOE_STATUS_LOCKED);
    CHECK(second == NULL);
    CHECK(strstr(last_error(NULL), "in use by another floe process") != NULL);

    test_get_set(db);
    test_ttl_delete_exists_len(db);
    test_flush_stats_last_error(db);
    CHECK_STATUS(floe_close(db), FLOE_STATUS_OK);

    /* A closed handle is refused by every function, never used. */
    uint8_t value[16];
    size_t size = 0;
    bool flag = false;
    uint64_t count = 0;
    FloeStats stats;
    CHECK_STATUS(floe_get(db, KEY("greeting"), value, sizeof value, &size),
                 FLOE_STATUS_BAD_HANDLE);
    CHECK(strstr(last_error(NULL), "not an open FloeDb") != NULL);
    CHECK_STATUS(floe_set(db, KEY("k"), KEY("v")), FLOE_STATUS_BAD_HANDLE);
    CHECK_STATUS(floe_set_with_ttl(db, KEY("k"), KEY("v"), 10), FLOE_STATUS_BAD_HANDLE);
    CHECK_STATUS(floe_delete(db, KEY("k"), &flag), FLOE_STATUS_BAD_HANDLE);
    CHECK_STATUS(floe_exists(db, KEY("k"), &flag), FLOE_STATUS_BAD_HANDLE);
    CHECK_STATUS(floe_len(db, &count), FLOE_STATUS_BAD_HANDLE);
    CHECK_STATUS(floe_flush(db), FLOE_STATUS_BAD_HANDLE);
    CHECK_STATUS(floe_stats(db, &stats), FLOE_STATUS_BAD_HANDLE);
    CHECK_STATUS(floe_last_error(db, (char *)value, sizeof value, &size), FLOE_STATUS_BAD_HANDLE);
    CHECK_STATUS(floe_close(db), FLOE_STATUS_BAD_HANDLE);
    CHECK_STATUS(floe_close((FloeDb *)(uintptr_t)0x5eed), FLOE_STATUS_BAD_HANDLE);
    CHECK_STATUS(floe_close(NULL), FLOE_STATUS_BAD_HANDLE);

    /* Reopened: everything acknowledged is there, the deleted and expired keys are not. */
    CHECK_STATUS(floe_open(dir, &options, &db), FLOE_STATUS_OK);
    CHECK_STATUS(floe_get(db, KEY("greeting"), value, sizeof value, &size), FLOE_STATUS_OK);
    CHECK(size == 5 && memcmp(value, "hello", 5) == 0);
    CHECK_STATUS(floe_exists(db, KEY("doomed"), &flag), FLOE_STATUS_OK);
    CHECK(!flag);
    CHECK_STATUS(floe_len(db, &count), FLOE_STATUS_OK);
    CHECK(count == 2);
    CHECK_STATUS(floe_close(db), FLOE_STATUS_OK);
}

static void test_cache(void) {
    FloeOptions options;
    FloeDb *db = NULL;
    uint64_t count = 0;
    char key[32];
    floe_options_default(&options);
    options.memory_size = 64 << 10;
    options.keys_max = 50;
    options.persistence = 0; /* no files: the directory may be null */

    /* noeviction: a full store refuses, and keeps what it has. */
    CHECK_STATUS(floe_open(NULL, &options, &db), FLOE_STATUS_OK);
    FloeStatus status = FLOE_STATUS_OK;
    int index = 0;
    for (; index < 1000 && status == FLOE_STATUS_OK; index++) {
        snprintf(key, sizeof key, "key:%d", index);
        status = floe_set(db, KEY(key), KEY("value"));
    }
    CHECK(status == FLOE_STATUS_FULL);
    CHECK(strstr(last_error(db), "OOM") != NULL);
    CHECK_STATUS(floe_len(db, &count), FLOE_STATUS_OK);
    CHECK(count == (uint64_t)(index - 1));
    CHECK_STATUS(floe_close(db), FLOE_STATUS_OK);

    /* allkeys-lru: never full, the coldest keys go. */
    options.eviction = FLOE_EVICTION_ALLKEYS_LRU;
    options.fsync = FLOE_FSYNC_NO;
    CHECK_STATUS(floe_open(NULL, &options, &db), FLOE_STATUS_OK);
    for (index = 0; index < 1000; index++) {
        snprintf(key, sizeof key, "key:%d", index);
        CHECK_STATUS(floe_set(db, KEY(key), KEY("value")), FLOE_STATUS_OK);
    }
    FloeStats stats;
    CHECK_STATUS(floe_stats(db, &stats), FLOE_STATUS_OK);
    CHECK(stats.keys <= 50 && stats.evicted >= 950);
    CHECK(stats.lsn_last == 0 && stats.log_byte_count == 0); /* no log */
    CHECK_STATUS(floe_close(db), FLOE_STATUS_OK);
}

static void test_memory(void) {
    size_t needed = 0;
    FloeMemory *memory = NULL;
    uint8_t value[16];
    size_t size = 0;
    bool flag = false;
    uint64_t count = 0;

    CHECK_STATUS(floe_memory_buffer_size(64 << 10, 100, NULL), FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_memory_buffer_size(16, 100, &needed), FLOE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(floe_memory_buffer_size(64 << 10, 100, &needed), FLOE_STATUS_OK);
    CHECK(needed > 64 << 10);

    /* One byte more than needed, used from an odd address: any alignment works. */
    uint8_t *buffer = malloc(needed + 1);
    uint8_t *start = buffer + 1;
    CHECK_STATUS(floe_memory_create(start, needed - 1, 64 << 10, 100, 0, &memory),
                 FLOE_STATUS_BUFFER_TOO_SMALL);
    CHECK_STATUS(floe_memory_create(NULL, needed, 64 << 10, 100, 0, &memory),
                 FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_memory_create(start, needed, 64 << 10, 100, 0, NULL),
                 FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_memory_create(start, needed, 64 << 10, 100, 99, &memory),
                 FLOE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(floe_memory_create(start, needed, 16, 100, 0, &memory),
                 FLOE_STATUS_INVALID_ARGUMENT);
    CHECK(memory == NULL);
    CHECK_STATUS(floe_memory_create(start, needed, 64 << 10, 100, FLOE_EVICTION_NOEVICTION,
                                    &memory),
                 FLOE_STATUS_OK);
    CHECK(memory != NULL);

    uint64_t now = 1000;
    CHECK_STATUS(floe_memory_set(memory, KEY("a"), KEY("apple"), 0, now), FLOE_STATUS_OK);
    CHECK_STATUS(floe_memory_set(memory, KEY("t"), KEY("tick"), 10, now), FLOE_STATUS_OK);
    CHECK_STATUS(floe_memory_get(memory, KEY("a"), now, value, sizeof value, &size),
                 FLOE_STATUS_OK);
    CHECK(size == 5 && memcmp(value, "apple", 5) == 0);
    CHECK_STATUS(floe_memory_get(memory, KEY("a"), now, value, 1, &size),
                 FLOE_STATUS_BUFFER_TOO_SMALL);
    CHECK(size == 5);
    CHECK_STATUS(floe_memory_get(memory, KEY("t"), now + 9, value, sizeof value, &size),
                 FLOE_STATUS_OK);
    CHECK_STATUS(floe_memory_get(memory, KEY("t"), now + 10, value, sizeof value, &size),
                 FLOE_STATUS_NOT_FOUND); /* expired on the caller's clock */
    CHECK_STATUS(floe_memory_get(memory, KEY("none"), now, value, sizeof value, &size),
                 FLOE_STATUS_NOT_FOUND);

    /* Refusals. */
    CHECK_STATUS(floe_memory_get(memory, KEY("a"), now, value, sizeof value, NULL),
                 FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_memory_get(memory, NULL, 1, now, value, sizeof value, &size),
                 FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_memory_get(memory, KEY("a"), now, NULL, 4, &size),
                 FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_memory_set(memory, NULL, 1, KEY("v"), 0, now), FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_memory_set(memory, KEY("k"), NULL, 1, 0, now), FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_memory_set(memory, KEY("k"), (const uint8_t *)"v", SIZE_MAX, 0, now),
                 FLOE_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(floe_memory_set(memory, KEY("k"), KEY("v"), UINT64_MAX, now),
                 FLOE_STATUS_INVALID_ARGUMENT);
    static uint8_t big[32 << 10];
    CHECK_STATUS(floe_memory_set(memory, big, 8 << 10, KEY("v"), 0, now),
                 FLOE_STATUS_KEY_TOO_LARGE);
    CHECK_STATUS(floe_memory_set(memory, KEY("k"), big, sizeof big, 0, now),
                 FLOE_STATUS_VALUE_TOO_LARGE);
    CHECK_STATUS(floe_memory_delete(memory, KEY("a"), now, NULL), FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_memory_delete(memory, NULL, 1, now, &flag), FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_memory_len(memory, NULL), FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_memory_len(memory, &count), FLOE_STATUS_OK);
    CHECK(count == 1); /* "a": the read at now + 10 removed the expired "t" */

    CHECK_STATUS(floe_memory_delete(memory, KEY("a"), now, &flag), FLOE_STATUS_OK);
    CHECK(flag);
    CHECK_STATUS(floe_memory_delete(memory, KEY("a"), now, &flag), FLOE_STATUS_OK);
    CHECK(!flag);

    /* noeviction: full is refused. */
    FloeStatus status = FLOE_STATUS_OK;
    char key[32];
    for (int index = 0; index < 1000 && status == FLOE_STATUS_OK; index++) {
        snprintf(key, sizeof key, "key:%d", index);
        status = floe_memory_set(memory, KEY(key), KEY("value"), 0, now);
    }
    CHECK(status == FLOE_STATUS_FULL);

    /* Handles that are not live stores are refused. */
    CHECK_STATUS(floe_memory_destroy(NULL), FLOE_STATUS_NULL_POINTER);
    CHECK_STATUS(floe_memory_len(NULL, &count), FLOE_STATUS_NULL_POINTER);
    uint64_t zeros[16] = {0};
    CHECK_STATUS(floe_memory_len((FloeMemory *)zeros, &count), FLOE_STATUS_BAD_HANDLE);
    CHECK_STATUS(floe_memory_len((FloeMemory *)((uint8_t *)zeros + 1), &count),
                 FLOE_STATUS_BAD_HANDLE);

    CHECK_STATUS(floe_memory_destroy(memory), FLOE_STATUS_OK);
    CHECK_STATUS(floe_memory_destroy(memory), FLOE_STATUS_BAD_HANDLE);
    CHECK_STATUS(floe_memory_get(memory, KEY("a"), now, value, sizeof value, &size),
                 FLOE_STATUS_BAD_HANDLE);
    CHECK_STATUS(floe_memory_set(memory, KEY("a"), KEY("b"), 0, now), FLOE_STATUS_BAD_HANDLE);
    CHECK_STATUS(floe_memory_delete(memory, KEY("a"), now, &flag), FLOE_STATUS_BAD_HANDLE);
    CHECK_STATUS(floe_memory_len(memory, &count), FLOE_STATUS_BAD_HANDLE);
    free(buffer);
}

int main(void) {
    char template[] = "/tmp/floe-capi-test-XXXXXX";
    char *dir = mkdtemp(template);
    if (dir == NULL) {
        perror("mkdtemp");
        return 2;
    }

    test_options();
    test_open_refusals(dir);
    test_durable(dir);
    test_cache();
    test_memory();

    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    if (system(command) != 0) {
        fprintf(stderr, "could not remove %s\n", dir);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
