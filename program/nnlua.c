/*
 * nnlua: the program. It behaves as the stock `lua` does — the same
 * options, the same `arg` table, everything run under lua_pcall with a
 * traceback handler — and adds the engine: nn.core is linked in, the
 * stdlib directory is put on package.path and `nn` is a global before any
 * user code runs. With no script it starts the REPL (repl.c).
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "nn_bind.h"
#include "program.h"

/* What the options asked for (collect_args). */
enum {
  ARG_ERROR = 1,       /* bad option: the only bit set */
  ARG_INTERACTIVE = 2, /* -i */
  ARG_VERSION = 4,     /* -v, --version */
  ARG_EXEC = 8,        /* -e */
  ARG_NOENV = 16,      /* -E */
  ARG_HELP = 32,       /* -h, --help */
};

static const char usage_text[] =
    "usage: " NNLUA_PROGNAME " [options] [script [args]]\n"
    "Available options are:\n"
    "  -e stat       execute string 'stat'\n"
    "  -i            enter interactive mode after executing 'script'\n"
    "                (also when it fails, so its globals can be inspected)\n"
    "  -l mod        require library 'mod' into global 'mod'\n"
    "  -v, --version show version information\n"
    "  -E            ignore environment variables LUA_PATH and LUA_CPATH\n"
    "  -W            turn warnings on\n"
    "  -h, --help    show this help\n"
    "  --            stop handling options\n"
    "  -             stop handling options and execute stdin\n"
    "\n"
    "The global 'nn' is loaded before anything runs; require \"nn\" returns it.\n"
    "Scripts get their arguments in 'arg' and '...', as with lua, and the\n"
    "script's own folder comes first in package.path (as Python's sys.path[0]),\n"
    "so a script requires the modules beside it by name.\n"
    "\n"
    "With no script and no -e or -v, nnlua starts the REPL when stdin is a\n"
    "terminal and runs stdin as a script otherwise. The REPL (also after -i)\n"
    "auto-prints expressions; on a terminal it has line editing, history and\n"
    "tab completion; from a pipe it reads line by line without prompts, so\n"
    "'printf \"1+1\\n\" | nnlua -i' prints 2.\n"
    "\n"
    "Environment:\n"
    "  NNLUA_STDLIB    directory holding nn/init.lua (default: the installed\n"
    "                  stdlib next to the executable, else the source tree)\n"
    "  NNLUA_HISTORY   REPL history file (default ~/.nnlua_history; empty: none)\n"
    "  LUA_PATH, LUA_CPATH  as for lua; the script's folder, then the stdlib,\n"
    "                  come first in package.path\n";

/* ---------------------------------------------------------------------- */
/* Messages and errors */

void nnlua_print_version(FILE *out) {
  fprintf(out, "%s %s (%s)\n", NNLUA_PROGNAME, NNLUA_VERSION, LUA_RELEASE);
  fflush(out);
}

/* "prefix: msg\n" on stderr, after flushing what the script printed. */
static void print_message(const char *prefix, const char *msg) {
  fflush(stdout);
  if (prefix != NULL) fprintf(stderr, "%s: ", prefix);
  fprintf(stderr, "%s\n", msg);
  fflush(stderr);
}

int nnlua_report(lua_State *L, int status, const char *prefix) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    print_message(prefix, msg != NULL ? msg : "(error object is not a string)");
    lua_pop(L, 1);
  }
  return status;
}

/* The library's folder (holding nn/init.lua), pushed; "" when unknown. */
static const char *push_library_dir(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, NNB_LIBRARY_DIR_KEY);
  if (!lua_isstring(L, -1)) {
    lua_pop(L, 1);
    lua_pushliteral(L, "");
  }
  return lua_tostring(L, -1);
}

/* A message that starts at a line of the library's own code ("/usr/share/
 * nnlua/stdlib/nn/fit.lua:120: attempt to ...", an error the library did
 * not raise on purpose) gets the user's line in front and names the
 * library file relative to it: "train.lua:8: nn/fit.lua:120: ...".
 * Replaces the string at the top. */
static void locate_library_error(lua_State *L) {
  const char *dir = push_library_dir(L);
  size_t n = strlen(dir);
  const char *msg = lua_tostring(L, -2);
  if (n > 0 && strncmp(msg, dir, n) == 0 && msg[n] == '/') {
    nnb_push_where(L, 1);
    lua_pushfstring(L, "nn/%s", msg + n + 1);
    lua_concat(L, 2);
    lua_replace(L, -3);
  }
  lua_pop(L, 1);
}

/* Message handler of every protected call: the error as a string (an
 * error object through its __tostring) with a traceback appended, minus
 * the "[C]: in ?" lines, which are the program's own C frames. Library
 * files are named relative to the library ("nn/fit.lua:120"), never by
 * the absolute path of the installation. */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      msg = lua_tostring(L, -1);
    else
      msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  } else {
    lua_pushvalue(L, 1);
  }
  locate_library_error(L);
  luaL_traceback(L, L, lua_tostring(L, -1), 1);
  luaL_gsub(L, lua_tostring(L, -1), "\n\t[C]: in ?", "");
  const char *dir = push_library_dir(L);
  if (dir[0] == '\0') {
    lua_pop(L, 1);
    return 1;
  }
  lua_pushfstring(L, "%s/", dir);
  luaL_gsub(L, lua_tostring(L, -3), lua_tostring(L, -1), "nn/");
  return 1;
}

/* ---------------------------------------------------------------------- */
/* Ctrl-C: as in lua.c, the signal handler only sets a hook, the one Lua
 * call safe there; the hook raises at the next Lua instruction. A kernel
 * running in C finishes first; a second Ctrl-C kills the process. */

static lua_State *volatile interrupted_state = NULL;

/* Raises at the running function (level 0 inside a hook), or at the
 * user's line that called the library when that function is the library's. */
static void interrupt_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  nnb_push_where(L, 0);
  lua_pushliteral(L, "interrupted!");
  lua_concat(L, 2);
  lua_error(L);
}

static void on_sigint(int sig) {
  (void)sig;
  int mask = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  lua_sethook(interrupted_state, interrupt_hook, mask, 1);
}

int nnlua_docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sa.sa_flags = SA_RESETHAND; /* the second Ctrl-C is the default one */
  sigemptyset(&sa.sa_mask);
  interrupted_state = L;
  sigaction(SIGINT, &sa, &old);
  int status = lua_pcall(L, narg, nres, base);
  sigaction(SIGINT, &old, NULL);
  /* A Ctrl-C that came as the call returned must not hit the next one. */
  if (lua_gethook(L) == interrupt_hook) lua_sethook(L, NULL, 0, 0);
  lua_remove(L, base);
  return status;
}

/* ---------------------------------------------------------------------- */
/* The nn library */

/* Writes into buf <prefix>/rel, the program being <prefix>/bin/nnlua
 * (rel may also be absolute); returns 0 when that does not fit. */
static int install_path(char *buf, size_t len, const char *rel) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return 0;
  exe[n] = '\0';
  for (int up = 0; up < 2; up++) { /* drop "/nnlua", then "/bin" */
    char *slash = strrchr(exe, '/');
    if (slash == NULL) return 0;
    *slash = '\0';
  }
  int w = rel[0] == '/' ? snprintf(buf, len, "%s", rel)
                        : snprintf(buf, len, "%s/%s", exe, rel);
  return w >= 0 && (size_t)w < len;
}

/* Writes into buf the stdlib of an installed tree, <prefix>/bin/nnlua
 * next to <prefix>/NNLUA_STDLIB_INSTALL_REL; returns 0 when the program
 * does not run from one (nn/init.lua is not there). */
static int installed_stdlib(char *buf, size_t len) {
  if (!install_path(buf, len, NNLUA_STDLIB_INSTALL_REL)) return 0;
  char probe[PATH_MAX + 16];
  snprintf(probe, sizeof probe, "%s/nn/init.lua", buf);
  return access(probe, R_OK) == 0;
}

/* The directory holding nn/init.lua: $NNLUA_STDLIB, else the installed
 * tree, else the source tree the program was built from. */
static const char *stdlib_dir(char *buf, size_t len) {
  const char *env = getenv("NNLUA_STDLIB");
  if (env != NULL && env[0] != '\0') return env;
  if (installed_stdlib(buf, len)) return buf;
  return NNLUA_STDLIB_BUILD_DIR;
}

/* The directory of the Lua C modules built apart from the program
 * (nn/distributed/mpi.so, linked against MPI): the installed tree's when
 * the program runs from one, else the build tree's. */
static const char *cmodule_dir(char *buf, size_t len) {
  char stdlib[PATH_MAX];
  if (installed_stdlib(stdlib, sizeof stdlib) && install_path(buf, len, NNLUA_CMODULE_INSTALL_REL))
    return buf;
  return NNLUA_CMODULE_BUILD_DIR;
}

/* package.path = "<dir>/?.lua;<dir>/?/init.lua;" .. package.path */
static void prepend_package_path(lua_State *L, const char *dir) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "path");
  const char *path = lua_tostring(L, -1);
  lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, path ? path : "");
  lua_setfield(L, -3, "path");
  lua_pop(L, 2);
}

/* package.cpath = "<dir>/?.so;" .. package.cpath */
static void prepend_package_cpath(lua_State *L, const char *dir) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "cpath");
  const char *cpath = lua_tostring(L, -1);
  lua_pushfstring(L, "%s/?.so;%s", dir, cpath ? cpath : "");
  lua_setfield(L, -3, "cpath");
  lua_pop(L, 2);
}

/* Links nn.core into package.loaded and sets the global nn = require "nn".
 * Returns 0 (after reporting) when the stdlib cannot be loaded. */
static int open_nn(lua_State *L) {
  char buf[PATH_MAX];
  prepend_package_path(L, stdlib_dir(buf, sizeof buf));
  prepend_package_cpath(L, cmodule_dir(buf, sizeof buf));
  luaL_requiref(L, "nn.core", luaopen_nn_core, 0);
  lua_pop(L, 1);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "nn");
  int status = nnlua_docall(L, 1, 1);
  if (status == LUA_OK) lua_setglobal(L, "nn");
  return nnlua_report(L, status, NNLUA_PROGNAME) == LUA_OK;
}

/* ---------------------------------------------------------------------- */
/* Chunks */

/* Reports the error that ends a script, -e or -l. Under mpirun (a world
 * of several ranks) nn.distributed has set a hook that prints it with the
 * rank and ends the whole job instead (MPI_Abort): no rank is left
 * waiting in a collective for this one. */
static int report_failure(lua_State *L, int status) {
  if (status == LUA_OK) return status;
  if (lua_getfield(L, LUA_REGISTRYINDEX, NNB_ERROR_HOOK_KEY) == LUA_TFUNCTION) {
    lua_pushliteral(L, NNLUA_PROGNAME);
    lua_pushvalue(L, -3); /* the message */
    /* returns only if the job could not be ended: then report as usual */
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) lua_pop(L, 1);
  } else {
    lua_pop(L, 1);
  }
  return nnlua_report(L, status, NNLUA_PROGNAME);
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = nnlua_docall(L, 0, 0);
  return report_failure(L, status);
}

/* Runs a file, or stdin when name is NULL. */
static int dofile(lua_State *L, const char *name) {
  return dochunk(L, luaL_loadfile(L, name));
}

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* -l mod: global mod = require(mod). */
static int dolibrary(lua_State *L, const char *name) {
  lua_getglobal(L, "require");
  lua_pushstring(L, name);
  int status = nnlua_docall(L, 1, 1);
  if (status == LUA_OK) lua_setglobal(L, name);
  return report_failure(L, status);
}

/* Pushes arg[1..#arg], the script's `...`; returns how many. */
static int push_script_args(lua_State *L) {
  if (lua_getglobal(L, "arg") != LUA_TTABLE) luaL_error(L, "'arg' is not a table");
  int n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  lua_remove(L, -n - 1);
  return n;
}

/* package.path = "<folder of script>/?.lua;<folder>/?/init.lua;" .. package.path,
 * so that a script finds the modules beside it wherever it is run from. */
static void add_script_dir_path(lua_State *L, const char *script) {
  const char *slash = strrchr(script, '/');
  if (slash == NULL) {
    lua_pushliteral(L, ".");
  } else if (slash == script) {
    lua_pushliteral(L, ""); /* "/x.lua": the root, "/?.lua" */
  } else {
    lua_pushlstring(L, script, (size_t)(slash - script));
  }
  prepend_package_path(L, lua_tostring(L, -1));
  lua_pop(L, 1);
}

/* Runs the script argv[0] ("-" is stdin unless it came after "--"). */
static int handle_script(lua_State *L, char **argv) {
  const char *fname = argv[0];
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0) fname = NULL;
  if (fname != NULL) add_script_dir_path(L, fname);
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) status = nnlua_docall(L, push_script_args(L), LUA_MULTRET);
  return report_failure(L, status);
}

/* ---------------------------------------------------------------------- */
/* Options, as lua.c reads them */

/* Checks a one-letter option that takes no value ("-i", not "-ix"). */
static int flag(const char *opt, int bit) { return opt[2] == '\0' ? bit : ARG_ERROR; }

/* The ARG_ bits of the option argv[*i]; advances *i past the value of
 * -e and -l when it is the next argument. ARG_ERROR leaves *i alone. */
static int option_bits(char **argv, int *i) {
  const char *opt = argv[*i];
  if (strcmp(opt, "--help") == 0) return ARG_HELP;
  if (strcmp(opt, "--version") == 0) return ARG_VERSION;
  switch (opt[1]) {
  case 'E': return flag(opt, ARG_NOENV);
  case 'W': return flag(opt, 0);
  case 'i': return flag(opt, ARG_INTERACTIVE);
  case 'v': return flag(opt, ARG_VERSION);
  case 'h': return flag(opt, ARG_HELP);
  case 'e':
  case 'l':
    if (opt[2] == '\0') { /* the value is the next argument */
      if (argv[*i + 1] == NULL || argv[*i + 1][0] == '-') return ARG_ERROR;
      (*i)++;
    }
    return opt[1] == 'e' ? ARG_EXEC : 0;
  default: return ARG_ERROR;
  }
}

/* Reads the options. Sets *first to the script's index in argv (0 when
 * there is none, the bad option's index on ARG_ERROR) and returns the
 * ARG_ bits. */
static int collect_args(char **argv, int *first) {
  int args = 0;
  *first = 0;
  if (argv[0] == NULL) return 0;
  for (int i = 1; argv[i] != NULL; i++) {
    const char *opt = argv[i];
    if (opt[0] != '-' || opt[1] == '\0') { /* script, or "-" for stdin */
      *first = i;
      return args;
    }
    if (strcmp(opt, "--") == 0) {
      *first = argv[i + 1] != NULL ? i + 1 : 0;
      return args;
    }
    int bits = option_bits(argv, &i);
    if (bits == ARG_ERROR) {
      *first = i;
      return ARG_ERROR;
    }
    args |= bits;
  }
  return args;
}

/* The global `arg`: the script at 0, its arguments at 1.., the program
 * and its options at negative indices (the program at 0 with no script). */
static void create_arg_table(lua_State *L, char **argv, int argc, int script) {
  lua_createtable(L, argc - (script + 1), script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

/* Runs -e and -l (and -W) in order, up to the script at index last.
 * Returns 0 when one failed. */
static int run_args(lua_State *L, char **argv, int last) {
  for (int i = 1; i < last; i++) {
    int option = argv[i][1];
    if (option == 'W' && argv[i][2] == '\0') lua_warning(L, "@on", 0);
    if (option != 'e' && option != 'l') continue;
    const char *value = argv[i][2] != '\0' ? argv[i] + 2 : argv[++i];
    int status = option == 'e' ? dostring(L, value, "=(command line)")
                               : dolibrary(L, value);
    if (status != LUA_OK) return 0;
  }
  return 1;
}

static void print_usage(const char *badoption) {
  fprintf(stderr, "%s: ", NNLUA_PROGNAME);
  if ((badoption[1] == 'e' || badoption[1] == 'l') && badoption[2] == '\0')
    fprintf(stderr, "'%s' needs argument\n", badoption);
  else
    fprintf(stderr, "unrecognized option '%s'\n", badoption);
  fputs(usage_text, stderr);
  fflush(stderr);
}

/* ---------------------------------------------------------------------- */
/* Main */

/* Does the work in protected mode; returns true on success. */
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = lua_touserdata(L, 2);
  int script;
  int args = collect_args(argv, &script);
  int last = script > 0 ? script : argc; /* first argv that is not an option */
  luaL_checkversion(L);
  if (args == ARG_ERROR) {
    print_usage(argv[script]);
    return 0;
  }
  if (args & ARG_HELP) {
    fputs(usage_text, stdout);
    lua_pushboolean(L, 1);
    return 1;
  }
  if (args & ARG_VERSION) nnlua_print_version(stdout);
  if (args & ARG_NOENV) { /* signal for package to ignore LUA_PATH, LUA_CPATH */
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
  create_arg_table(L, argv, argc, script);
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0); /* as lua.c */
  if (!open_nn(L)) return 0;
  int ok = run_args(L, argv, last);
  if (ok && script > 0) ok = handle_script(L, argv + script) == LUA_OK;
  if (args & ARG_INTERACTIVE) { /* even after an error, to inspect it */
    nnlua_repl(L);
    ok = 1;
  } else if (ok && script == 0 && !(args & (ARG_EXEC | ARG_VERSION))) {
    if (isatty(STDIN_FILENO)) nnlua_repl(L);
    else ok = dofile(L, NULL) == LUA_OK;
  }
  lua_pushboolean(L, ok);
  return 1;
}

int main(int argc, char **argv) {
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    print_message(NNLUA_PROGNAME, "cannot create state: not enough memory");
    return EXIT_FAILURE;
  }
  lua_gc(L, LUA_GCSTOP); /* no collection while the state is built */
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 0);
  int ok = status == LUA_OK && lua_toboolean(L, -1);
  nnlua_report(L, status, NNLUA_PROGNAME);
  lua_close(L);
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
