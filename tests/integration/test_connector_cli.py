#!/usr/bin/python3
"""`beck connector list` and `beck connector describe` against the real
plugins: the built-in ones next to the built binary and plugins compiled
here from the public header alone.

The expected values do not come from beck: each built-in .so is opened with
ctypes and its beck_connector_entry() descriptors are read field by field
(name, kind, version, every option's name, type, default, required flag,
choices, range), so the CLI is checked against what the plugins declare.
Tables are compared with the --output json of the same command.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ctypes  # noqa: E402
import glob  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import unittest  # noqa: E402

from beckit import REPO, beck_bin, main  # noqa: E402

HEADER_DIR = os.path.join(REPO, "connect", "include")
TYPES = {1: "string", 2: "int", 3: "double", 4: "bool", 5: "duration", 6: "password", 7: "enum", 8: "list"}
KINDS = {1: "source", 2: "sink"}


class Option(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("type", ctypes.c_uint32), ("default_value", ctypes.c_char_p),
                ("required", ctypes.c_int32), ("description", ctypes.c_char_p), ("choices", ctypes.c_char_p),
                ("min", ctypes.c_double), ("max", ctypes.c_double)]


class Descriptor(ctypes.Structure):
    _fields_ = [("abi_version", ctypes.c_uint32), ("struct_size", ctypes.c_uint32), ("name", ctypes.c_char_p),
                ("kind", ctypes.c_uint32), ("description", ctypes.c_char_p), ("version", ctypes.c_char_p),
                ("options", ctypes.c_void_p), ("option_count", ctypes.c_uint32), ("option_size", ctypes.c_uint32)]


def s(b):
    return None if b is None else b.decode()


def read_plugin(path):
    """{name: {kind, version, description, options: [...]}} straight from the .so."""
    lib = ctypes.CDLL(path)
    entry = lib.beck_connector_entry
    entry.restype = ctypes.POINTER(Descriptor)
    entry.argtypes = [ctypes.c_uint32, ctypes.c_uint32]
    out = {}
    i = 0
    while True:
        d = entry(1 << 16, i)
        if not d:
            return out
        d = d.contents
        opts = []
        for k in range(d.option_count):
            o = Option.from_address(d.options + k * d.option_size)
            opts.append({"name": s(o.name), "type": TYPES[o.type], "default": s(o.default_value),
                         "required": bool(o.required), "description": s(o.description) or "",
                         "choices": s(o.choices), "min": o.min, "max": o.max})
        out[s(d.name)] = {"kind": KINDS[d.kind], "version": s(d.version), "description": s(d.description),
                          "options": opts, "path": path}
        i += 1


def builtin_dir():
    return os.path.realpath(os.path.join(os.path.dirname(beck_bin()), "..", "lib", "beck", "connectors"))


def parse_table(text):
    lines = [l.strip() for l in text.strip("\n").splitlines() if l.strip()]
    head = re.split(r"\s{2,}", lines[0])
    rows = []
    for l in lines[1:]:
        cells = re.split(r"\s{2,}", l)
        rows.append(dict(zip(head, cells + [""] * (len(head) - len(cells)))))
    return rows


def sections(text):
    out, name, buf = {}, "", []
    for line in text.splitlines():
        if line and not line.startswith(" ") and re.fullmatch(r"[A-Z][A-Z ]*", line.strip()):
            out[name] = "\n".join(buf)
            name, buf = line.strip(), []
        else:
            buf.append(line)
    out[name] = "\n".join(buf)
    return out


PLUGIN_C = r"""
#include <beck/connector.h>
static const beck_connector_option_t opts[] = {
    {.name = "greeting", .type = BECK_CONNECTOR_OPT_STRING, .required = 1, .description = "What to say each time."},
    {.name = "times", .type = BECK_CONNECTOR_OPT_INT, .default_value = "3", .min = 1, .max = 10,
     .description = "How often to say it."},
    {.name = "style", .type = BECK_CONNECTOR_OPT_ENUM, .default_value = "plain", .choices = "plain|loud",
     .description = "How to say it."},
    {.name = "pause", .type = BECK_CONNECTOR_OPT_DURATION, .default_value = "2s", .min = 250, .max = 60000,
     .description = "Wait between two greetings."},
};
static int create(const beck_connector_host_t *h, beck_connector_ctx_t *c, void **self) { *self = 0; return 0; }
static int poll(void *self, beck_source_batch_t *b) { return 0; }
static void destroy(void *self) {}
static const beck_connector_descriptor_t d = {
    .abi_version = BECK_CONNECTOR_ABI_VERSION, .struct_size = sizeof d, .name = NAME,
    .kind = BECK_CONNECTOR_SOURCE, .description = "Says hello.", .version = "0.7",
    .options = opts, .option_count = 4, .option_size = sizeof opts[0],
    .create = create, .poll = poll, .destroy = destroy,
};
BECK_CONNECTOR_EXPORT const beck_connector_descriptor_t *beck_connector_entry(uint32_t abi, uint32_t i) {
  return i == 0 ? &d : 0;
}
"""


class ConnectorCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.builtins = {}
        for so in sorted(glob.glob(os.path.join(builtin_dir(), "*.so"))):
            cls.builtins.update(read_plugin(so))
        if not cls.builtins:
            raise unittest.SkipTest("no built-in plugins in %s" % builtin_dir())
        cls.tmp = tempfile.mkdtemp(prefix="beck-conncli-")
        cls.plugins = os.path.join(cls.tmp, "plugins")
        os.mkdir(cls.plugins)
        cls.compile("hello-source", os.path.join(cls.plugins, "hello.so"))
        # not a shared object at all, and a second definition of hello-source
        with open(os.path.join(cls.plugins, "broken.so"), "w") as f:
            f.write("this is not an ELF file\n")
        cls.other = os.path.join(cls.tmp, "other")
        os.mkdir(cls.other)
        cls.compile("hello-source", os.path.join(cls.other, "hello2.so"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def compile(cls, name, out):
        src = os.path.join(cls.tmp, "plugin.c")
        with open(src, "w") as f:
            f.write(PLUGIN_C)
        subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", "-shared", "-fPIC", "-fvisibility=hidden",
                        "-I", HEADER_DIR, "-DNAME=\"%s\"" % name, src, "-o", out], check=True)

    def beck(self, *args, env=None, expect=0):
        e = dict(os.environ)
        e.pop("BECK_PLUGIN_PATH", None)
        e.update(env or {})
        r = subprocess.run([beck_bin()] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                           timeout=60)
        r.out = r.stdout.decode()
        r.err = r.stderr.decode()
        if expect is not None:
            self.assertEqual(r.returncode, expect, "beck %s exited %d\nstdout:\n%s\nstderr:\n%s" %
                             (" ".join(args), r.returncode, r.out, r.err))
        return r

    # ---- list -----------------------------------------------------------------

    def test_list_shows_every_builtin_connector_as_the_plugins_declare_it(self):
        r = self.beck("connector", "list")
        self.assertEqual(r.err, "")
        rows = parse_table(r.out)
        self.assertEqual([row["NAME"] for row in rows], sorted(self.builtins))
        for row in rows:
            want = self.builtins[row["NAME"]]
            self.assertEqual(row["KIND"], want["kind"])
            self.assertEqual(row["VERSION"], want["version"])
            self.assertEqual(row["FROM"], "built-in")
            opts = ", ".join(o["name"] + ("*" if o["required"] else "") for o in want["options"])
            self.assertEqual(row["OPTIONS"], opts or "-")
        j = json.loads(self.beck("connector", "list", "--output", "json").out)
        self.assertEqual(j["skipped"], [])
        self.assertEqual([c["name"] for c in j["connectors"]], sorted(self.builtins))
        for c in j["connectors"]:
            want = self.builtins[c["name"]]
            self.assertEqual(c["kind"], want["kind"])
            self.assertEqual(c["description"], want["description"])
            self.assertTrue(c["builtin"])
            self.assertEqual(os.path.realpath(c["path"]), os.path.realpath(want["path"]))
            self.assertEqual(c["options"], [{"name": o["name"], "type": o["type"], "required": o["required"]}
                                            for o in want["options"]])
        self.assertEqual(self.beck("connector", "list", "-q").out.split(), sorted(self.builtins))

    def test_list_finds_plugins_on_the_path_and_reports_files_it_skips(self):
        r = self.beck("connector", "list", env={"BECK_PLUGIN_PATH": self.plugins})
        rows = {row["NAME"]: row for row in parse_table(r.out)}
        self.assertEqual(set(rows), set(self.builtins) | {"hello-source"})
        hello = rows["hello-source"]
        self.assertEqual((hello["KIND"], hello["VERSION"], hello["FROM"]),
                         ("source", "0.7", os.path.join(self.plugins, "hello.so")))
        self.assertEqual(hello["OPTIONS"], "greeting*, times, style, pause")
        broken = os.path.join(self.plugins, "broken.so")
        self.assertIn("beck connector list: skipped plugin %s: " % broken, r.err)
        self.assertIn("not an ELF", r.err)
        # --plugin-path comes before BECK_PLUGIN_PATH: its hello-source wins, the other is a duplicate
        j = json.loads(self.beck("connector", "list", "--json", "--plugin-path", self.other,
                                 env={"BECK_PLUGIN_PATH": self.plugins}).out)
        hello = [c for c in j["connectors"] if c["name"] == "hello-source"]
        self.assertEqual(len(hello), 1)
        self.assertEqual(hello[0]["path"], os.path.join(self.other, "hello2.so"))
        self.assertFalse(hello[0]["builtin"])
        self.assertTrue(any("duplicate connector hello-source" in p for p in j["skipped"]), j["skipped"])
        self.assertTrue(any(p.startswith("plugin %s: " % broken) for p in j["skipped"]), j["skipped"])

    # ---- describe ------------------------------------------------------------

    def test_describe_prints_each_builtin_schema_as_declared(self):
        for name, want in sorted(self.builtins.items()):
            j = json.loads(self.beck("connector", "describe", name, "--output", "json").out)
            self.assertEqual((j["name"], j["kind"], j["version"], j["abi"]), (name, want["kind"], want["version"],
                                                                            "1.0"))
            self.assertEqual(len(j["options"]), len(want["options"]))
            for got, o in zip(j["options"], want["options"]):
                self.assertEqual((got["name"], got["type"], got["required"], got["default"], got["description"]),
                                 (o["name"], o["type"], o["required"], o["default"], o["description"]))
                self.assertEqual(got.get("choices"), o["choices"])
                if o["min"] < o["max"]:
                    self.assertEqual((got["min"], got["max"]), (o["min"], o["max"]))
            worker = {o["name"] for o in j["worker_options"]}
            self.assertIn("errors.tolerance", worker)
            self.assertIn("topic" if want["kind"] == "source" else "topics", worker)

            text = self.beck("connector", "describe", name).out
            sec = sections(text)
            kv = dict(re.split(r"\s{2,}", l.strip(), maxsplit=1) for l in sec[""].splitlines() if l.strip())
            self.assertEqual((kv["NAME"], kv["KIND"], kv["VERSION"]), (name, want["kind"], want["version"]))
            self.assertTrue(kv["PLUGIN"].endswith("(built-in)"))
            rows = parse_table(sec["OPTIONS"])
            self.assertEqual([r["OPTION"] for r in rows], [o["name"] for o in want["options"]])
            for r, o in zip(rows, want["options"]):
                self.assertEqual(r["TYPE"], o["type"])
                self.assertEqual(r["DEFAULT"], "(required)" if o["required"] else (o["default"] or "-"))
                self.assertEqual(r["DESCRIPTION"], o["description"])
                if o["choices"]:
                    self.assertEqual(r["VALUES"], o["choices"])
            self.assertEqual([r["OPTION"] for r in parse_table(sec["WORKER OPTIONS"])],
                             [o["name"] for o in j["worker_options"]])

    def test_describe_a_plugin_shows_values_and_can_leave_out_worker_options(self):
        env = {"BECK_PLUGIN_PATH": self.plugins}
        r = self.beck("connector", "describe", "hello-source", "--no-worker-options", env=env)
        sec = sections(r.out)
        self.assertNotIn("WORKER OPTIONS", sec)
        rows = {row["OPTION"]: row for row in parse_table(sec["OPTIONS"])}
        self.assertEqual(rows["greeting"]["DEFAULT"], "(required)")
        self.assertEqual((rows["times"]["TYPE"], rows["times"]["DEFAULT"], rows["times"]["VALUES"]),
                         ("int", "3", "1..10"))
        self.assertEqual(rows["style"]["VALUES"], "plain|loud")
        self.assertEqual((rows["pause"]["DEFAULT"], rows["pause"]["VALUES"]), ("2s", "250ms..1m"))
        j = json.loads(self.beck("connector", "describe", "hello-source", "--json", "--no-worker-options",
                                 env=env).out)
        self.assertNotIn("worker_options", j)
        self.assertEqual(j["path"], os.path.join(self.plugins, "hello.so"))
        self.assertFalse(j["builtin"])

    # ---- mistakes ------------------------------------------------------------

    def test_mistakes_say_what_to_do_with_the_right_exit_status(self):
        r = self.beck("connector", "describe", "postgres-snik", expect=1)
        self.assertEqual(r.out, "")
        self.assertEqual(r.err.strip(), "beck connector describe: no connector 'postgres-snik' (did you mean "
                                        "'postgres-sink'? `beck connector list` shows them)")
        r = self.beck("connector", "describe", "nothing-like-it", expect=1)
        self.assertIn("no connector 'nothing-like-it' (`beck connector list` shows them)", r.err)
        r = self.beck("connector", "describe", expect=2)
        self.assertIn("missing connector NAME", r.err)
        r = self.beck("connector", "describe", "a", "b", expect=2)
        self.assertIn("unexpected argument 'b'", r.err)
        r = self.beck("connector", "list", "--outptu", "json", expect=2)
        self.assertIn("unknown option '--outptu' (did you mean '--output'?)", r.err)
        r = self.beck("connector", "list", "--output", "yaml", expect=2)
        self.assertIn("--output: expected table or json, got 'yaml'", r.err)
        r = self.beck("connector", "lsit", expect=2)
        self.assertIn("unknown subcommand 'lsit' (did you mean 'list'?)", r.err)
        r = self.beck("connector", "describe", "--help")
        self.assertIn("Usage: beck connector describe NAME", r.out)
        self.assertIn("--plugin-path", r.out)
        r = self.beck("connector", "--help")
        self.assertIn("describe", r.out)
        self.assertIn("connector", self.beck("--help").out)
        # a binary with no built-in directory next to it and nothing on the path
        lonely = os.path.join(self.tmp, "lonely", "bin")
        os.makedirs(lonely, exist_ok=True)
        shutil.copy(beck_bin(), os.path.join(lonely, "beck"))
        r = subprocess.run([os.path.join(lonely, "beck"), "connector", "list", "--plugin-path", self.other],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={"PATH": os.environ["PATH"]})
        self.assertEqual(r.returncode, 0)
        names = [row["NAME"] for row in parse_table(r.stdout.decode())]
        self.assertIn("hello-source", names)


if __name__ == "__main__":
    main()
