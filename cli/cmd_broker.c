/*
 * cmd_broker.c - `beck broker`: runs a single-node Kafka-protocol broker in
 * the foreground.
 *
 * Settings come from defaults, then the --config file (Kafka-style
 * `key=value` lines, `#` comments), then command-line flags.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hostport.h"
#include "base/logging.h"
#include "broker/broker.h"
#include "cli.h"

static void broker_usage(FILE *out) {
  fprintf(out,
          "Usage: beck broker [--config FILE] [--data-dir DIR] [--listen HOST:PORT] [--advertise HOST:PORT]\n"
          "\n"
          "Runs a Kafka-protocol broker in the foreground. Any Kafka client can connect.\n"
          "Stops cleanly on Ctrl-C or SIGTERM; the next start skips recovery.\n"
          "\n"
          "Options:\n"
          "  --config FILE         key=value settings (see docs/broker.md)\n"
          "  --data-dir DIR        where topics and metadata live (default: data)\n"
          "  --listen HOST:PORT    address to accept clients on (default: 127.0.0.1:9092)\n"
          "  --advertise HOST:PORT address clients are told to use (default: the listen address)\n"
          "  -h, --help            show this help\n"
          "\n"
          "Example:\n"
          "  beck broker --data-dir /var/lib/beck --listen 0.0.0.0:9092 --advertise broker1.example:9092\n");
}

typedef struct broker_opts {
  beck_broker_config_t cfg;
  char data_dir[4096];
  char listen_host[256];
  char advertise_host[256];
} broker_opts_t;

static int parse_bool(const char *v, bool *out) {
  if (strcmp(v, "true") == 0)
    *out = true;
  else if (strcmp(v, "false") == 0)
    *out = false;
  else
    return -1;
  return 0;
}

static int parse_int(const char *v, long long min, long long max, long long *out) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || *end != '\0' || x < min || x > max)
    return -1;
  *out = x;
  return 0;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  char *e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
    *--e = '\0';
  return s;
}

static int apply_setting(broker_opts_t *o, const char *key, const char *val, char *err, size_t en) {
  long long n;
  beck_broker_config_t *c = &o->cfg;
  if (strcmp(key, "listen") == 0 || strcmp(key, "listeners") == 0) {
    const char *v = strstr(val, "://") ? strstr(val, "://") + 3 : val;
    if (beck_split_hostport(v, o->listen_host, sizeof o->listen_host, &c->listen_port) < 0)
      goto bad_addr;
    c->listen_host = o->listen_host;
  } else if (strcmp(key, "advertise") == 0 || strcmp(key, "advertised.listeners") == 0) {
    const char *v = strstr(val, "://") ? strstr(val, "://") + 3 : val;
    if (beck_split_hostport(v, o->advertise_host, sizeof o->advertise_host, &c->advertise_port) < 0)
      goto bad_addr;
    c->advertise_host = o->advertise_host;
  } else if (strcmp(key, "data.dir") == 0 || strcmp(key, "log.dirs") == 0 || strcmp(key, "log.dir") == 0) {
    snprintf(o->data_dir, sizeof o->data_dir, "%s", val);
    c->data_dir = o->data_dir;
  } else if (strcmp(key, "node.id") == 0 || strcmp(key, "broker.id") == 0) {
    if (parse_int(val, 0, INT32_MAX, &n) < 0)
      goto bad_int;
    c->node_id = (int32_t)n;
  } else if (strcmp(key, "num.partitions") == 0) {
    if (parse_int(val, 1, 100000, &n) < 0)
      goto bad_int;
    c->default_partitions = (int32_t)n;
  } else if (strcmp(key, "auto.create.topics.enable") == 0) {
    if (parse_bool(val, &c->auto_create_topics) < 0) {
      snprintf(err, en, "%s: expected true or false, got '%s'", key, val);
      return -1;
    }
  } else if (strcmp(key, "socket.request.max.bytes") == 0) {
    if (parse_int(val, 1024, INT32_MAX, &n) < 0)
      goto bad_int;
    c->max_request_bytes = (int32_t)n;
  } else if (strcmp(key, "max.connections") == 0) {
    if (parse_int(val, 1, 10000000, &n) < 0)
      goto bad_int;
    c->max_connections = (int32_t)n;
  } else if (strcmp(key, "connections.header.timeout.ms") == 0) {
    /* a connection holding an incomplete request frame for longer is closed */
    if (parse_int(val, 1, INT32_MAX, &n) < 0)
      goto bad_int;
    c->header_timeout_ms = (int32_t)n;
  } else if (strcmp(key, "group.min.session.timeout.ms") == 0) {
    if (parse_int(val, 1, INT32_MAX, &n) < 0)
      goto bad_int;
    c->group_min_session_ms = (int32_t)n;
  } else if (strcmp(key, "group.max.session.timeout.ms") == 0) {
    if (parse_int(val, 1, INT32_MAX, &n) < 0)
      goto bad_int;
    c->group_max_session_ms = (int32_t)n;
  } else if (strcmp(key, "group.initial.rebalance.delay.ms") == 0) {
    if (parse_int(val, 0, INT32_MAX, &n) < 0)
      goto bad_int;
    c->group_initial_rebalance_delay_ms = (int32_t)n;
  } else if (strcmp(key, "log.retention.check.interval.ms") == 0) {
    if (parse_int(val, 1, INT64_MAX, &n) < 0)
      goto bad_int;
    c->retention_check_ms = n;
  } else {
    snprintf(err, en, "unknown setting '%s' (see docs/broker.md for the list)", key);
    return -1;
  }
  return 0;
bad_addr:
  snprintf(err, en, "%s: expected HOST:PORT, got '%s'", key, val);
  return -1;
bad_int:
  snprintf(err, en, "%s: '%s' is not a valid number here", key, val);
  return -1;
}

static int load_config_file(broker_opts_t *o, const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    fprintf(stderr, "beck broker: cannot open config file %s: %s\n", path, strerror(errno));
    return -1;
  }
  char line[4096];
  int lineno = 0, rc = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    char *s = trim(line);
    if (*s == '\0' || *s == '#')
      continue;
    char *eq = strchr(s, '=');
    if (eq == NULL) {
      fprintf(stderr, "%s:%d:1: expected key=value\n", path, lineno);
      rc = -1;
      continue;
    }
    *eq = '\0';
    char *key = trim(s), *val = trim(eq + 1);
    char err[512];
    if (apply_setting(o, key, val, err, sizeof err) < 0) {
      fprintf(stderr, "%s:%d:%d: %s\n", path, lineno, (int)(val - line) + 1, err);
      rc = -1;
    }
  }
  fclose(f);
  return rc;
}

int cmd_broker(int argc, char **argv) {
  broker_opts_t o;
  memset(&o, 0, sizeof o);
  beck_broker_config_default(&o.cfg);
  snprintf(o.data_dir, sizeof o.data_dir, "data");
  o.cfg.data_dir = o.data_dir;
  static const struct option longopts[] = {
      {"config", required_argument, NULL, 'c'},  {"data-dir", required_argument, NULL, 'd'},
      {"listen", required_argument, NULL, 'l'},  {"advertise", required_argument, NULL, 'a'},
      {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
  };
  /* the config file first, flags override it */
  for (int i = 1; i < argc; i++) {
    const char *path = NULL;
    if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
      path = argv[i + 1];
    else if (strncmp(argv[i], "--config=", 9) == 0)
      path = argv[i] + 9;
    if (path && load_config_file(&o, path) < 0)
      return 2;
  }
  int ch;
  optind = 1;
  char err[512];
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    int rc = 0;
    switch (ch) {
    case 'c':
      break;
    case 'd':
      rc = apply_setting(&o, "data.dir", optarg, err, sizeof err);
      break;
    case 'l':
      rc = apply_setting(&o, "listen", optarg, err, sizeof err);
      break;
    case 'a':
      rc = apply_setting(&o, "advertise", optarg, err, sizeof err);
      break;
    case 'h':
      broker_usage(stdout);
      return 0;
    default:
      broker_usage(stderr);
      return 2;
    }
    if (rc < 0) {
      fprintf(stderr, "beck broker: %s\n", err);
      return 2;
    }
  }
  if (optind < argc) {
    fprintf(stderr, "beck broker: unexpected argument '%s'\n", argv[optind]);
    broker_usage(stderr);
    return 2;
  }
  beck_error_t e;
  beck_error_clear(&e);
  beck_broker_t *b = NULL;
  if (beck_broker_new(&o.cfg, &b, &e) != BECK_ERR_OK) {
    fprintf(stderr, "beck broker: %s\n", e.msg);
    return 1;
  }
  printf("beck broker ready: listening on %s:%d (advertised as %s:%d), data in %s\n", o.cfg.listen_host,
         beck_broker_port(b), o.cfg.advertise_host ? o.cfg.advertise_host : o.cfg.listen_host,
         o.cfg.advertise_port > 0 ? o.cfg.advertise_port : beck_broker_port(b), o.cfg.data_dir);
  fflush(stdout);
  beck_broker_run(b, true, &e);
  beck_broker_destroy(b);
  beck_log("broker", BECK_LOG_INFO, "stopped cleanly");
  return 0;
}
