/*
 * codec.h - the compression codecs of Kafka record batches (reference §3.2):
 * gzip (zlib), snappy (raw, and the xerial framing kafka-python writes),
 * lz4 (LZ4 frame format) and zstd (zstd frame).
 *
 * Every decompressor takes an output cap so a small hostile input cannot
 * allocate without bound (a "zip bomb" stops at max_out with BECK_ERR_TOOBIG).
 * The broker never recompresses what it stores; these are for validation,
 * compaction, the embedded client and tests.
 */
#ifndef BECK_RECORD_CODEC_H
#define BECK_RECORD_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "record/batch.h"

/* Appends the decompressed bytes of src to out. Fails with BECK_ERR_TOOBIG
 * when the output would pass max_out, BECK_ERR_CORRUPT on malformed input,
 * BECK_ERR_UNSUPPORTED for an unknown codec. On failure out->len is restored. */
beck_err_t beck_codec_decompress(beck_codec_t codec, const uint8_t *src, size_t len, size_t max_out, beck_buf_t *out,
                                 beck_error_t *e);

/* Appends the compressed form of src to out (snappy: raw format, as
 * librdkafka writes it). */
beck_err_t beck_codec_compress(beck_codec_t codec, const uint8_t *src, size_t len, beck_buf_t *out, beck_error_t *e);

/* The codec's Kafka name ("none", "gzip", "snappy", "lz4", "zstd"); parses back. */
const char *beck_codec_name(beck_codec_t codec);
beck_err_t beck_codec_parse(const char *name, beck_codec_t *out);

/* Returns the records section of a complete, validated batch: the batch's own
 * bytes when uncompressed (borrowed), else the decompressed bytes written to
 * scratch (reset first), capped at max_out. */
beck_err_t beck_batch_records(const uint8_t *batch, size_t len, const beck_batch_header_t *h, size_t max_out,
                              beck_buf_t *scratch, beck_slice_t *records, beck_error_t *e);

/* Finishes a builder with its records section compressed by codec: the
 * attributes get the codec bits and the CRC covers the compressed bytes. */
beck_err_t beck_batch_builder_finish_compressed(beck_batch_builder_t *b, beck_codec_t codec, beck_error_t *e);

#endif
