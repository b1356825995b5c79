/*
 * loader.c - loads one connector plugin (.so) and checks what it exports.
 *
 * Order of checks, each failing with "plugin PATH: reason" and without
 * touching anything the previous check did not validate:
 *   1. the path is a readable regular file;
 *   2. it is an ELF shared object of this machine's class, byte order and
 *      architecture (read from the ELF header; so a text file, a static
 *      archive or an aarch64 .so on x86-64 is refused before dlopen);
 *   3. dlopen(RTLD_NOW | RTLD_LOCAL) succeeds (dlerror() is reported, e.g.
 *      a missing dependency or an undefined symbol);
 *   4. it exports beck_connector_entry;
 *   5. entry(host ABI, 0..) returns at least one descriptor (at most 64);
 *      for each: the major ABI matches, struct_size >= the 1.0 layout, name
 *      and kind are set, the callbacks the kind needs are there, the option
 *      table is consistent (element size, names, types, defaults parse).
 * Then each descriptor is copied into host memory, reading only
 * min(struct_size, sizeof) bytes (never a blind memcpy of sizeof), and its
 * options likewise with the plugin's option_size as stride.
 */
#include "connect_int.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"

#define MAX_CONNECTORS_PER_PLUGIN 64

struct beck_plugin {
  char *path;
  void *dl;
  beck_connector_info_t *conns;
  uint32_t nconns;
};

#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#elif defined(__i386__)
#define HOST_MACHINE EM_386
#elif defined(__arm__)
#define HOST_MACHINE EM_ARM
#elif defined(__riscv)
#define HOST_MACHINE EM_RISCV
#elif defined(__powerpc64__)
#define HOST_MACHINE EM_PPC64
#elif defined(__s390x__)
#define HOST_MACHINE EM_S390
#endif

#if UINTPTR_MAX > 0xffffffffu
#define HOST_CLASS ELFCLASS64
#else
#define HOST_CLASS ELFCLASS32
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_DATA ELFDATA2LSB
#else
#define HOST_DATA ELFDATA2MSB
#endif

static const char *machine_name(unsigned m) {
  switch (m) {
  case EM_X86_64:
    return "x86-64";
  case EM_AARCH64:
    return "aarch64";
  case EM_386:
    return "i386";
  case EM_ARM:
    return "arm";
  case EM_RISCV:
    return "riscv";
  case EM_PPC64:
    return "ppc64";
  case EM_S390:
    return "s390";
  default:
    return "another architecture";
  }
}

static beck_err_t check_elf(const char *path, beck_error_t *e) {
  struct stat st;
  if (stat(path, &st) != 0)
    return beck_error_set(e, beck_err_from_errno(errno), "plugin %s: %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode))
    return beck_error_set(e, BECK_ERR_INVAL, "plugin %s: not a regular file", path);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return beck_error_set(e, beck_err_from_errno(errno), "plugin %s: cannot open: %s", path, strerror(errno));
  /* Elf64_Ehdr is the larger header; the fields we read (ident, type,
   * machine) sit at the same offsets in both classes. */
  unsigned char h[sizeof(Elf64_Ehdr)];
  ssize_t got = pread(fd, h, sizeof h, 0);
  int saved = errno;
  close(fd);
  if (got < 0)
    return beck_error_set(e, beck_err_from_errno(saved), "plugin %s: cannot read: %s", path, strerror(saved));
  if ((size_t)got < sizeof(Elf32_Ehdr) || memcmp(h, ELFMAG, SELFMAG) != 0)
    return beck_error_set(e, BECK_ERR_INVAL, "plugin %s: not an ELF shared object (bad magic)", path);
  if (h[EI_CLASS] != HOST_CLASS)
    return beck_error_set(e, BECK_ERR_INVAL, "plugin %s: ELF class %s, this host is %s-bit", path,
                          h[EI_CLASS] == ELFCLASS64 ? "64-bit" : "32-bit", HOST_CLASS == ELFCLASS64 ? "64" : "32");
  if (h[EI_DATA] != HOST_DATA)
    return beck_error_set(e, BECK_ERR_INVAL, "plugin %s: ELF byte order differs from this host", path);
  uint16_t type, machine;
  memcpy(&type, h + offsetof(Elf64_Ehdr, e_type), sizeof type);
  memcpy(&machine, h + offsetof(Elf64_Ehdr, e_machine), sizeof machine);
  if (type != ET_DYN)
    return beck_error_set(e, BECK_ERR_INVAL, "plugin %s: ELF file is not a shared object (type %u%s)", path, type,
                          type == ET_EXEC  ? ", an executable"
                          : type == ET_REL ? ", an object file"
                                           : "");
#ifdef HOST_MACHINE
  if (machine != HOST_MACHINE)
    return beck_error_set(e, BECK_ERR_INVAL, "plugin %s: built for %s, this host is %s", path, machine_name(machine),
                          machine_name(HOST_MACHINE));
#endif
  return BECK_ERR_OK;
}

static bool opt_type_known(uint32_t t) { return t >= BECK_CONNECTOR_OPT_STRING && t <= BECK_CONNECTOR_OPT_LIST; }

/* Checks and copies the option table of descriptor d into info. */
static beck_err_t copy_options(const char *path, const beck_connector_descriptor_t *d, beck_connector_info_t *info,
                               beck_error_t *e) {
  if (d->option_count == 0)
    return BECK_ERR_OK;
  if (d->options == NULL)
    return beck_error_set(e, BECK_ERR_INVAL, "plugin %s: connector %s: option_count is %u but options is NULL", path,
                          d->name, d->option_count);
  if (d->option_size < BECK_CONNECTOR_OPTION_MIN_SIZE)
    return beck_error_set(e, BECK_ERR_INVAL,
                          "plugin %s: connector %s: option_size %u is smaller than the 1.0 option struct (%zu bytes)",
                          path, d->name, d->option_size, (size_t)BECK_CONNECTOR_OPTION_MIN_SIZE);
  if (d->option_count > 1024)
    return beck_error_set(e, BECK_ERR_INVAL, "plugin %s: connector %s: %u options is more than 1024", path, d->name,
                          d->option_count);
  info->options = beck_calloc(d->option_count, sizeof *info->options);
  if (info->options == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "plugin %s: out of memory", path);
  info->option_count = d->option_count;
  size_t n = d->option_size < sizeof(beck_connector_option_t) ? d->option_size : sizeof(beck_connector_option_t);
  for (uint32_t k = 0; k < d->option_count; k++) {
    beck_connector_option_t *o = &info->options[k];
    memcpy(o, (const char *)d->options + (size_t)k * d->option_size, n);
    if (o->name == NULL || o->name[0] == '\0')
      return beck_error_set(e, BECK_ERR_INVAL, "plugin %s: connector %s: option %u has no name", path, d->name, k);
    if (!opt_type_known(o->type))
      return beck_error_set(e, BECK_ERR_INVAL, "plugin %s: connector %s: option %s has unknown type %u", path, d->name,
                            o->name, o->type);
    if (o->type == BECK_CONNECTOR_OPT_ENUM && (o->choices == NULL || o->choices[0] == '\0'))
      return beck_error_set(e, BECK_ERR_INVAL, "plugin %s: connector %s: enum option %s has no choices", path, d->name,
                            o->name);
    for (uint32_t j = 0; j < k; j++)
      if (strcmp(info->options[j].name, o->name) == 0)
        return beck_error_set(e, BECK_ERR_INVAL, "plugin %s: connector %s: option %s is defined twice", path, d->name,
                              o->name);
    if (o->default_value != NULL) {
      int64_t i;
      double dv;
      beck_error_t pe;
      if (beck__config_parse_value(o, o->default_value, &i, &dv, &pe) != BECK_ERR_OK)
        return beck_error_set(e, BECK_ERR_INVAL, "plugin %s: connector %s: bad default: %s", path, d->name, pe.msg);
    }
  }
  return BECK_ERR_OK;
}

static beck_err_t check_descriptor(const char *path, uint32_t index, const beck_connector_descriptor_t *d,
                                   beck_connector_info_t *info, beck_error_t *e) {
  /* abi_version and struct_size are the first 8 bytes of every version. */
  uint32_t abi = d->abi_version;
  if (BECK_CONNECTOR_ABI_MAJOR_OF(abi) != BECK_CONNECTOR_ABI_MAJOR)
    return beck_error_set(e, BECK_ERR_UNSUPPORTED,
                          "plugin %s: connector #%u: ABI version %u.%u is not supported by this host (ABI %u.%u); "
                          "rebuild it against beck/connector.h %u.x",
                          path, index, BECK_CONNECTOR_ABI_MAJOR_OF(abi), BECK_CONNECTOR_ABI_MINOR_OF(abi),
                          BECK_CONNECTOR_ABI_MAJOR, BECK_CONNECTOR_ABI_MINOR, BECK_CONNECTOR_ABI_MAJOR);
  if (d->struct_size < BECK_CONNECTOR_DESCRIPTOR_MIN_SIZE)
    return beck_error_set(e, BECK_ERR_INVAL,
                          "plugin %s: connector #%u: descriptor struct_size %u is smaller than the ABI %u.0 "
                          "descriptor (%zu bytes)",
                          path, index, d->struct_size, BECK_CONNECTOR_ABI_MAJOR,
                          (size_t)BECK_CONNECTOR_DESCRIPTOR_MIN_SIZE);
  memset(info, 0, sizeof *info);
  size_t n =
      d->struct_size < sizeof(beck_connector_descriptor_t) ? d->struct_size : sizeof(beck_connector_descriptor_t);
  memcpy(&info->desc, d, n);
  d = &info->desc;
  info->abi_version = abi;
  if (d->name == NULL || d->name[0] == '\0')
    return beck_error_set(e, BECK_ERR_INVAL, "plugin %s: connector #%u has no name", path, index);
  for (const char *c = d->name; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.'))
      return beck_error_set(e, BECK_ERR_INVAL,
                            "plugin %s: connector #%u: name '%.64s' may only use a-z, 0-9, '-', '_' and '.'", path,
                            index, d->name);
  if (d->kind != BECK_CONNECTOR_SOURCE && d->kind != BECK_CONNECTOR_SINK)
    return beck_error_set(e, BECK_ERR_INVAL, "plugin %s: connector %s: kind %u is neither source (1) nor sink (2)",
                          path, d->name, d->kind);
  const char *missing = NULL;
  if (d->create == NULL)
    missing = "create";
  else if (d->destroy == NULL)
    missing = "destroy";
  else if (d->kind == BECK_CONNECTOR_SOURCE && d->poll == NULL)
    missing = "poll";
  else if (d->kind == BECK_CONNECTOR_SINK && d->put == NULL)
    missing = "put";
  else if (d->kind == BECK_CONNECTOR_SINK && d->flush == NULL)
    missing = "flush";
  if (missing != NULL)
    return beck_error_set(e, BECK_ERR_INVAL, "plugin %s: connector %s (%s) has no %s callback", path, d->name,
                          beck_connector_kind_name(d->kind), missing);
  info->name = d->name;
  info->kind = (beck_connector_kind_t)d->kind;
  info->path = path;
  return copy_options(path, d, info, e);
}

beck_err_t beck_plugin_open(const char *path, beck_plugin_t **out, beck_error_t *e) {
  *out = NULL;
  beck_err_t rc = check_elf(path, e);
  if (rc != BECK_ERR_OK)
    return rc;
  beck_plugin_t *p = beck_calloc(1, sizeof *p);
  if (p == NULL || (p->path = beck_strdup(path)) == NULL) {
    beck_free(p);
    return beck_error_set(e, BECK_ERR_NOMEM, "plugin %s: out of memory", path);
  }
  dlerror();
  p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (p->dl == NULL) {
    const char *why = dlerror();
    rc = beck_error_set(e, BECK_ERR_INVAL, "plugin %s: cannot load: %s", path, why ? why : "unknown dlopen error");
    beck_plugin_close(p);
    return rc;
  }
  dlerror();
  void *sym = dlsym(p->dl, BECK_CONNECTOR_ENTRY_SYMBOL);
  if (sym == NULL) {
    rc = beck_error_set(e, BECK_ERR_NOTFOUND,
                        "plugin %s: does not export %s() (is it a Beck connector plugin? build it with "
                        "BECK_CONNECTOR_EXPORT from beck/connector.h)",
                        path, BECK_CONNECTOR_ENTRY_SYMBOL);
    beck_plugin_close(p);
    return rc;
  }
  beck_connector_entry_fn entry;
  memcpy(&entry, &sym, sizeof entry); /* object -> function pointer, as POSIX allows */

  const beck_connector_descriptor_t *descs[MAX_CONNECTORS_PER_PLUGIN];
  uint32_t n = 0;
  while (n < MAX_CONNECTORS_PER_PLUGIN && (descs[n] = entry(BECK_CONNECTOR_ABI_VERSION, n)) != NULL)
    n++;
  if (n == 0) {
    rc = beck_error_set(e, BECK_ERR_NOTFOUND, "plugin %s: %s() returned no connector for host ABI %u.%u", path,
                        BECK_CONNECTOR_ENTRY_SYMBOL, BECK_CONNECTOR_ABI_MAJOR, BECK_CONNECTOR_ABI_MINOR);
    beck_plugin_close(p);
    return rc;
  }
  if (n == MAX_CONNECTORS_PER_PLUGIN && entry(BECK_CONNECTOR_ABI_VERSION, n) != NULL) {
    rc = beck_error_set(e, BECK_ERR_INVAL, "plugin %s: exports more than %d connectors", path,
                        MAX_CONNECTORS_PER_PLUGIN);
    beck_plugin_close(p);
    return rc;
  }
  p->conns = beck_calloc(n, sizeof *p->conns);
  if (p->conns == NULL) {
    beck_plugin_close(p);
    return beck_error_set(e, BECK_ERR_NOMEM, "plugin %s: out of memory", path);
  }
  for (uint32_t k = 0; k < n; k++) {
    rc = check_descriptor(p->path, k, descs[k], &p->conns[k], e);
    p->nconns = k + 1; /* so close frees this one's options too */
    if (rc == BECK_ERR_OK)
      for (uint32_t j = 0; j < k; j++)
        if (strcmp(p->conns[j].name, p->conns[k].name) == 0)
          rc = beck_error_set(e, BECK_ERR_INVAL, "plugin %s: exports connector %s twice", path, p->conns[k].name);
    if (rc != BECK_ERR_OK) {
      beck_plugin_close(p);
      return rc;
    }
  }
  *out = p;
  return BECK_ERR_OK;
}

void beck_plugin_close(beck_plugin_t *p) {
  if (p == NULL)
    return;
  for (uint32_t k = 0; k < p->nconns; k++)
    beck_free(p->conns[k].options);
  beck_free(p->conns);
  /* BECK_PLUGIN_KEEP_LOADED=1 keeps the code mapped so that sanitizer and
   * valgrind reports at exit can still name plugin functions */
  if (p->dl != NULL && getenv("BECK_PLUGIN_KEEP_LOADED") == NULL)
    dlclose(p->dl);
  beck_free(p->path);
  beck_free(p);
}

uint32_t beck_plugin_connector_count(const beck_plugin_t *p) { return p->nconns; }

const beck_connector_info_t *beck_plugin_connector(const beck_plugin_t *p, uint32_t i) {
  return i < p->nconns ? &p->conns[i] : NULL;
}

const char *beck_plugin_path(const beck_plugin_t *p) { return p->path; }

const char *beck_connector_kind_name(beck_connector_kind_t k) {
  switch (k) {
  case BECK_CONNECTOR_SOURCE:
    return "source";
  case BECK_CONNECTOR_SINK:
    return "sink";
  }
  return "unknown";
}

const char *beck_connector_opt_type_name(uint32_t type) {
  switch (type) {
  case BECK_CONNECTOR_OPT_STRING:
    return "string";
  case BECK_CONNECTOR_OPT_INT:
    return "int";
  case BECK_CONNECTOR_OPT_DOUBLE:
    return "double";
  case BECK_CONNECTOR_OPT_BOOL:
    return "bool";
  case BECK_CONNECTOR_OPT_DURATION:
    return "duration";
  case BECK_CONNECTOR_OPT_PASSWORD:
    return "password";
  case BECK_CONNECTOR_OPT_ENUM:
    return "enum";
  case BECK_CONNECTOR_OPT_LIST:
    return "list";
  }
  return "unknown";
}
