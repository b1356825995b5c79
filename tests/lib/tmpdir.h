/*
 * tmpdir.h - temporary directories for tests, removed recursively afterwards.
 */
#ifndef BECK_TESTS_TMPDIR_H
#define BECK_TESTS_TMPDIR_H

/* Creates a fresh directory under $TMPDIR (or /tmp) named beck-<tag>-XXXXXX.
 * Returns a malloc'd path; aborts the test run on failure. */
char *beck_test_tmpdir(const char *tag);
/* Removes path and everything below it, then frees it. */
void beck_test_rmdir(char *path);

#endif
