/*
 * The REPL: lua.c's interactive loop — a chunk that fails to compile only
 * because it ends too early continues on the next line, a line that is an
 * expression runs as "return <line>" and its values are printed — with
 * readline editing, a history file, tab completion of names and fields,
 * and tables shown as a one-line preview instead of an address.
 *
 * On a terminal, lines come from readline with the prompts "> " and ">> ".
 * From a pipe they come line by line without prompts, so piped input gives
 * just the results; there is no history or completion then.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include <lauxlib.h>
#include <lua.h>

#include "nn_bind.h"
#include "program.h"

#define PROMPT1 "> "
#define PROMPT2 ">> "
#define CHUNKNAME "=stdin"
#define EOFMARK "<eof>"
#define INPUT_MT "nnlua.repl_input"
#define HISTORY_MAX 1000
#define PREVIEW_WIDTH 100 /* characters of a table preview */
#define SHORT_WIDTH 40    /* characters of one value inside a preview */
#define SORT_MAX 256      /* a preview sorts the keys of tables this small */
#define WORD_BREAKS " \t\n\"'`@$><=;|&{}()[],+-*/%^#~"

/* load_chunk's results besides the load status. */
enum { CHUNK_EOF = -1, CHUNK_CANCELLED = -2 };
/* push_line's results. */
enum { LINE_EOF, LINE_OK, LINE_CANCELLED };

/* The session's input, a userdata whose __gc frees the line being read,
 * so that an error unwinding the loop never leaks it. */
typedef struct repl_input {
  char *line;          /* the last line read, owned */
  size_t cap;          /* getline's size of line */
  int tty;             /* reading a terminal through readline */
  const char *history; /* the history file, or NULL */
} repl_input;

static const char *const lua_keywords[] = {
    "and",   "break", "do",   "else", "elseif", "end",    "false", "for",
    "function", "goto", "if", "in",   "local",  "nil",    "not",   "or",
    "repeat", "return", "then", "true", "until", "while", NULL,
};

/* Set by SIGINT while readline waits for a line; the line is given up. */
static volatile sig_atomic_t prompt_sigint = 0;
/* The REPL's state, for readline's completion callbacks. */
static lua_State *completion_state = NULL;
/* Registry key (its address) of the array of current completions. */
static const char completion_key = 0;

/* ---------------------------------------------------------------------- */
/* Names */

static int is_keyword(const char *s, size_t len) {
  for (int i = 0; lua_keywords[i] != NULL; i++)
    if (strlen(lua_keywords[i]) == len && memcmp(lua_keywords[i], s, len) == 0) return 1;
  return 0;
}

/* Whether s[0..len) can follow a '.' in Lua: a name that is no keyword. */
static int is_identifier(const char *s, size_t len) {
  if (len == 0 || (s[0] >= '0' && s[0] <= '9')) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    int ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9');
    if (!ok) return 0;
  }
  return !is_keyword(s, len);
}

/* ---------------------------------------------------------------------- */
/* Previews of values */

/* A fixed buffer being filled; appends past its end are cut. */
typedef struct text {
  char *s;
  size_t len, size; /* size counts the terminating NUL */
} text;

static void text_add(text *t, const char *p, size_t n) {
  if (n > t->size - 1 - t->len) n = t->size - 1 - t->len;
  memcpy(t->s + t->len, p, n);
  t->len += n;
  t->s[t->len] = '\0';
}

static void text_puts(text *t, const char *s) { text_add(t, s, strlen(s)); }

/* Appends s quoted as a Lua string, cut after SHORT_WIDTH characters. */
static void add_quoted(text *t, const char *s, size_t len) {
  char esc[8];
  size_t start = t->len;
  text_puts(t, "\"");
  size_t i = 0;
  for (; i < len && t->len - start < SHORT_WIDTH; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') snprintf(esc, sizeof esc, "\\%c", c);
    else if (c == '\n') snprintf(esc, sizeof esc, "\\n");
    else if (c < 32 || c == 127) snprintf(esc, sizeof esc, "\\%d", c);
    else snprintf(esc, sizeof esc, "%c", c);
    text_puts(t, esc);
  }
  if (i < len) text_puts(t, "...");
  text_puts(t, "\"");
}

/* Appends a value that has no short form of its own: its tostring when
 * that is one short line, else <name> from __name or the type. */
static void add_opaque(lua_State *L, text *t, int idx) {
  size_t len;
  const char *s = luaL_tolstring(L, idx, &len);
  if (len <= SHORT_WIDTH && memchr(s, '\n', len) == NULL) {
    text_add(t, s, len);
  } else {
    int named = luaL_getmetafield(L, idx, "__name") == LUA_TSTRING;
    text_puts(t, "<");
    text_puts(t, named ? lua_tostring(L, -1) : luaL_typename(L, idx));
    text_puts(t, ">");
    if (named) lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* Appends the short form of value idx, as shown inside a table preview:
 * strings quoted, tables {...}, tensors <tensor [2,3] float32>. */
static void add_short(lua_State *L, text *t, int idx) {
  nn_tensor *tensor = nnb_to_tensor(L, idx);
  if (tensor != NULL) {
    char shape[128];
    nnb_shape_str(shape, sizeof shape, tensor->ndim, tensor->shape);
    text_puts(t, "<tensor ");
    text_puts(t, shape);
    text_puts(t, " ");
    text_puts(t, nn_dtype_name(tensor->dtype));
    text_puts(t, ">");
    return;
  }
  switch (lua_type(L, idx)) {
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    add_quoted(t, s, len);
    return;
  }
  case LUA_TFUNCTION: text_puts(t, "<function>"); return;
  case LUA_TTABLE:
    if (luaL_getmetafield(L, idx, "__tostring") != LUA_TNIL) {
      lua_pop(L, 1);
      break;
    }
    lua_pushnil(L);
    if (lua_next(L, idx)) {
      lua_pop(L, 2);
      text_puts(t, "{...}");
    } else {
      text_puts(t, "{}");
    }
    return;
  default: break;
  }
  add_opaque(L, t, idx);
}

/* Appends a key as written in a constructor: name= or [key]=. */
static void add_key(lua_State *L, text *t, int idx) {
  size_t len;
  if (lua_type(L, idx) == LUA_TSTRING) {
    const char *s = lua_tolstring(L, idx, &len);
    if (is_identifier(s, len)) {
      text_add(t, s, len);
      text_puts(t, "=");
      return;
    }
  }
  text_puts(t, "[");
  add_short(L, t, idx);
  text_puts(t, "]=");
}

/* Appends ", key=value" to t (no ", " when first, no key when keyidx is
 * 0) if it fits in PREVIEW_WIDTH; else appends ", ..." and returns 0. */
static int add_item(lua_State *L, text *t, int keyidx, int validx, int first) {
  char buf[3 * SHORT_WIDTH + 32];
  text item = {buf, 0, sizeof buf};
  buf[0] = '\0';
  if (!first) text_puts(&item, ", ");
  if (keyidx != 0) add_key(L, &item, keyidx);
  add_short(L, &item, validx);
  if (t->len + item.len + 1 > PREVIEW_WIDTH) {
    text_puts(t, first ? "..." : ", ...");
    return 0;
  }
  text_add(t, buf, item.len);
  return 1;
}

/* Order of keys in a preview: numbers, then strings, then the rest. */
static int key_less(lua_State *L, int a, int b) {
  int ta = lua_type(L, a), tb = lua_type(L, b);
  int ra = ta == LUA_TNUMBER ? 0 : ta == LUA_TSTRING ? 1 : 2;
  int rb = tb == LUA_TNUMBER ? 0 : tb == LUA_TSTRING ? 1 : 2;
  if (ra != rb) return ra < rb;
  return ra < 2 && lua_compare(L, a, b, LUA_OPLT); /* raw for these types */
}

/* Insertion sort of keys[1..n] (n is at most SORT_MAX). */
static void sort_keys(lua_State *L, int keys, lua_Integer n) {
  for (lua_Integer i = 2; i <= n; i++) {
    lua_rawgeti(L, keys, i); /* x */
    lua_Integer j = i - 1;
    for (; j >= 1; j--) {
      lua_rawgeti(L, keys, j);
      if (!key_less(L, -2, -1)) {
        lua_pop(L, 1);
        break;
      }
      lua_rawseti(L, keys, j + 1); /* move keys[j] up */
    }
    lua_rawseti(L, keys, j + 1); /* x in its place */
  }
}

/* Pushes an array of the keys of table idx other than 1..n, sorted when
 * there are at most SORT_MAX of them. */
static int push_other_keys(lua_State *L, int idx, lua_Integer n) {
  lua_newtable(L);
  int keys = lua_gettop(L);
  lua_Integer count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_isinteger(L, -1)) {
      lua_Integer k = lua_tointeger(L, -1);
      if (k >= 1 && k <= n) continue; /* shown with the array part */
    }
    lua_pushvalue(L, -1);
    lua_rawseti(L, keys, ++count);
  }
  if (count <= SORT_MAX) sort_keys(L, keys, count);
  return keys;
}

/* Writes into t a one-line preview of the table at idx, the array part
 * first, then the other keys: {1, 2, n=3, ["a b"]=true, ...}. */
static void preview_table(lua_State *L, text *t, int idx) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  int count = 0, fits = 1;
  text_puts(t, "{");
  for (lua_Integer i = 1; i <= n && fits; i++) {
    lua_rawgeti(L, idx, i);
    fits = add_item(L, t, 0, lua_gettop(L), count++ == 0);
    lua_pop(L, 1);
  }
  int keys = push_other_keys(L, idx, n);
  lua_Integer nkeys = (lua_Integer)lua_rawlen(L, keys);
  for (lua_Integer k = 1; k <= nkeys && fits; k++) {
    lua_rawgeti(L, keys, k);
    lua_pushvalue(L, -1);
    lua_rawget(L, idx);
    fits = add_item(L, t, lua_gettop(L) - 1, lua_gettop(L), count++ == 0);
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  text_puts(t, "}");
}

/* Pushes how the REPL shows value idx: tables without __tostring as a
 * preview, everything else as tostring does (tensors pretty-print). */
static void push_display(lua_State *L, int idx) {
  if (lua_type(L, idx) == LUA_TTABLE) {
    if (luaL_getmetafield(L, idx, "__tostring") == LUA_TNIL) {
      char buf[PREVIEW_WIDTH + 8];
      text t = {buf, 0, sizeof buf};
      preview_table(L, &t, idx);
      lua_pushlstring(L, buf, t.len);
      return;
    }
    lua_pop(L, 1);
  }
  luaL_tolstring(L, idx, NULL);
}

/* Writes its arguments to stdout as shown by push_display, tab-separated
 * (run protected: __tostring may raise). */
static int print_values(lua_State *L) {
  int n = lua_gettop(L);
  for (int i = 1; i <= n; i++) {
    size_t len;
    push_display(L, i);
    const char *s = lua_tolstring(L, -1, &len);
    if (i > 1) fputc('\t', stdout);
    fwrite(s, 1, len, stdout);
    lua_pop(L, 1);
  }
  fputc('\n', stdout);
  fflush(stdout);
  return 0;
}

/* Prints the values above base, if any, and removes them. */
static void print_results(lua_State *L, int base) {
  int n = lua_gettop(L) - base;
  if (n == 0) return;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  lua_pushcfunction(L, print_values);
  lua_insert(L, base + 1);
  int status = lua_pcall(L, n, 0, 0);
  if (status != LUA_OK) {
    lua_pushfstring(L, "error printing the result: %s", lua_tostring(L, -1));
    lua_remove(L, -2);
    nnlua_report(L, status, NULL);
  }
}

/* ---------------------------------------------------------------------- */
/* Completion: the text before the cursor up to a word break ("nn.ze",
 * "t:ad", "pri") is resolved without running any user code: fields are
 * read raw, following __index only where it is a table. */

/* Adds to the array at results prefix..name for each string key name of
 * table tbl that starts with word (functions only, with methods_only).
 * Names starting with '_' (private fields, metamethods) are left out
 * unless word starts with one. */
static void add_matching_keys(lua_State *L, int tbl, int results, const char *prefix,
                              size_t plen, const char *word, int methods_only) {
  size_t wlen = strlen(word);
  lua_pushnil(L);
  while (lua_next(L, tbl)) {
    size_t klen;
    if (lua_type(L, -2) == LUA_TSTRING && (!methods_only || lua_isfunction(L, -1))) {
      const char *k = lua_tolstring(L, -2, &klen);
      if (klen >= wlen && memcmp(k, word, wlen) == 0 && is_identifier(k, klen) &&
          (k[0] != '_' || word[0] == '_')) {
        lua_pushlstring(L, prefix, plen);
        lua_pushvalue(L, -3);
        lua_concat(L, 2);
        lua_rawseti(L, results, (lua_Integer)lua_rawlen(L, results) + 1);
      }
    }
    lua_pop(L, 1);
  }
}

/* Adds the fields of a tensor: its methods, and its properties (t.shape)
 * unless completing after ':'. */
static void add_tensor_fields(lua_State *L, int results, const char *prefix, size_t plen,
                              const char *word, int colon) {
  const char *tables[] = {NNB_METHODS_KEY, colon ? NULL : NNB_PROPS_KEY};
  for (int i = 0; i < 2 && tables[i] != NULL; i++) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, tables[i]) == LUA_TTABLE)
      add_matching_keys(L, lua_gettop(L), results, prefix, plen, word, 0);
    lua_pop(L, 1);
  }
}

/* Adds the fields of value obj: a table's keys, then those of the tables
 * its metatables' __index chain leads to (objects, strings), or a
 * tensor's methods. */
static void add_fields(lua_State *L, int obj, int results, const char *prefix, size_t plen,
                       const char *word, int colon) {
  int top = lua_gettop(L);
  lua_pushvalue(L, obj);
  for (int depth = 0; depth < 8; depth++) {
    if (nnb_to_tensor(L, -1) != NULL) {
      add_tensor_fields(L, results, prefix, plen, word, colon);
      break;
    }
    if (lua_istable(L, -1))
      add_matching_keys(L, lua_gettop(L), results, prefix, plen, word, colon);
    if (!lua_getmetatable(L, -1)) break;
    lua_pushliteral(L, "__index");
    lua_rawget(L, -2); /* value, metatable, __index */
    lua_remove(L, -2);
    lua_remove(L, -2);
    if (!lua_istable(L, -1)) break;
  }
  lua_settop(L, top);
}

/* Replaces [obj, key] at the top by obj[key] read raw, through __index
 * tables only; nil when it cannot be found that way. */
static void get_field(lua_State *L) {
  for (int depth = 0; depth < 8; depth++) {
    if (lua_istable(L, -2)) {
      lua_pushvalue(L, -1);
      if (lua_rawget(L, -3) != LUA_TNIL) {
        lua_replace(L, -3);
        lua_pop(L, 1);
        return;
      }
      lua_pop(L, 1);
    }
    if (!lua_getmetatable(L, -2)) break;
    lua_pushliteral(L, "__index");
    lua_rawget(L, -2); /* obj, key, metatable, __index */
    lua_remove(L, -2);
    lua_replace(L, -3);
  }
  lua_pop(L, 2);
  lua_pushnil(L);
}

/* Pushes the value of the dotted path[0..len) ("nn.optim") looked up
 * from the globals; returns 0, pushing nothing, when there is none. */
static int push_path(lua_State *L, const char *path, size_t len) {
  lua_pushglobaltable(L);
  size_t start = 0;
  for (;;) {
    size_t stop = start;
    while (stop < len && path[stop] != '.') stop++;
    if (!is_identifier(path + start, stop - start)) break;
    lua_pushlstring(L, path + start, stop - start);
    get_field(L);
    if (lua_isnil(L, -1)) break;
    if (stop == len) return 1;
    start = stop + 1;
  }
  lua_pop(L, 1);
  return 0;
}

/* Protected: stores in the registry the completions of the text given as
 * a light userdata: globals and keywords for a bare word, the fields of
 * a.b for "a.b.w", its methods for "a.b:w". */
static int collect_completions(lua_State *L) {
  const char *text = lua_touserdata(L, 1);
  lua_newtable(L);
  int results = lua_gettop(L);
  const char *sep = NULL;
  for (const char *p = text; *p != '\0'; p++)
    if (*p == '.' || *p == ':') sep = p;
  if (sep == NULL) {
    lua_pushglobaltable(L);
    add_fields(L, lua_gettop(L), results, "", 0, text, 0);
    size_t len = strlen(text);
    for (int i = 0; lua_keywords[i] != NULL; i++) {
      if (strncmp(lua_keywords[i], text, len) != 0) continue;
      lua_pushstring(L, lua_keywords[i]);
      lua_rawseti(L, results, (lua_Integer)lua_rawlen(L, results) + 1);
    }
  } else if (push_path(L, text, (size_t)(sep - text))) {
    size_t plen = (size_t)(sep + 1 - text);
    add_fields(L, lua_gettop(L), results, text, plen, sep + 1, *sep == ':');
  }
  lua_pushvalue(L, results);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &completion_key);
  return 0;
}

/* readline's generator: the state-th completion, malloc'ed, or NULL. */
static char *next_completion(const char *text, int state) {
  static lua_Integer next = 0;
  lua_State *L = completion_state;
  (void)text;
  if (state == 0) next = 0;
  char *match = NULL;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &completion_key) == LUA_TTABLE) {
    if (lua_rawgeti(L, -1, ++next) == LUA_TSTRING) match = strdup(lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return match;
}

/* readline's completion entry: never falls back to file names. */
static char **complete(const char *text, int start, int end) {
  lua_State *L = completion_state;
  (void)start;
  (void)end;
  rl_attempted_completion_over = 1;
  rl_completion_append_character = '\0';
  lua_pushcfunction(L, collect_completions);
  lua_pushlightuserdata(L, (void *)text); /* pushing a string could raise */
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
    lua_pop(L, 1);
    return NULL;
  }
  return rl_completion_matches(text, next_completion);
}

/* ---------------------------------------------------------------------- */
/* Reading lines */

static void on_prompt_sigint(int sig) {
  (void)sig;
  prompt_sigint = 1;
}

/* readline's input function: one byte of the terminal, except that a
 * Ctrl-C ends the line at once (readline echoes ^C) and push_line then
 * gives the line up. */
static int repl_getc(FILE *stream) {
  for (;;) {
    unsigned char c;
    ssize_t n = read(fileno(stream), &c, 1);
    if (n == 1) return c;
    if (n == 0 || errno != EINTR) return EOF;
    rl_check_signals(); /* readline's handling: ^C echo, resize */
    if (prompt_sigint) return '\n';
  }
}

static int input_gc(lua_State *L) {
  repl_input *in = luaL_checkudata(L, 1, INPUT_MT);
  free(in->line);
  in->line = NULL;
  return 0;
}

/* Pushes the session's input (before anything is allocated). */
static repl_input *push_input(lua_State *L) {
  repl_input *in = lua_newuserdatauv(L, sizeof *in, 0);
  memset(in, 0, sizeof *in);
  if (luaL_newmetatable(L, INPUT_MT)) {
    lua_pushcfunction(L, input_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_setmetatable(L, -2);
  in->tty = isatty(STDIN_FILENO);
  return in;
}

/* Reads one line and pushes it without its newline: LINE_OK. Pushes
 * nothing for LINE_EOF and for LINE_CANCELLED (Ctrl-C at the prompt). */
static int push_line(lua_State *L, repl_input *in, const char *prompt) {
  free(in->line);
  in->line = NULL;
  in->cap = 0;
  if (in->tty) {
    prompt_sigint = 0;
    fflush(stdout);
    in->line = readline(prompt);
    if (prompt_sigint) return LINE_CANCELLED;
    if (in->line == NULL) return LINE_EOF;
  } else {
    ssize_t n = getline(&in->line, &in->cap, stdin);
    if (n < 0) return LINE_EOF;
    if (n > 0 && in->line[n - 1] == '\n') in->line[n - 1] = '\0';
  }
  lua_pushstring(L, in->line);
  return LINE_OK;
}

/* ---------------------------------------------------------------------- */
/* History */

/* $NNLUA_HISTORY (empty: none), else ~/.nnlua_history, else NULL. */
static const char *history_file(void) {
  static char path[PATH_MAX];
  const char *env = getenv("NNLUA_HISTORY");
  if (env != NULL) return env[0] != '\0' ? env : NULL;
  const char *home = getenv("HOME");
  if (home == NULL || home[0] == '\0') return NULL;
  int n = snprintf(path, sizeof path, "%s/.nnlua_history", home);
  return n > 0 && (size_t)n < sizeof path ? path : NULL;
}

/* Adds a chunk to the history and appends it to the history file,
 * creating it when missing; a file that cannot be written is ignored. */
static void save_history(repl_input *in, const char *chunk) {
  if (!in->tty || chunk == NULL || chunk[0] == '\0') return;
  HIST_ENTRY *last = history_get(history_base + history_length - 1);
  if (last != NULL && strcmp(last->line, chunk) == 0) return;
  add_history(chunk);
  if (in->history != NULL && append_history(1, in->history) != 0)
    write_history(in->history);
}

/* ---------------------------------------------------------------------- */
/* The loop */

/* Whether the load status says the chunk just ends too early; pops the
 * message when so. */
static int incomplete(lua_State *L, int status) {
  size_t len, mark = sizeof EOFMARK - 1;
  if (status != LUA_ERRSYNTAX) return 0;
  const char *msg = lua_tolstring(L, -1, &len);
  if (len < mark || strcmp(msg + len - mark, EOFMARK) != 0) return 0;
  lua_pop(L, 1);
  return 1;
}

/* Compiles the line at the top as "return select(1, <line>\n)": all its
 * values, as "return <line>" gives, but the line's calls are not tail
 * calls, so an error raised inside the library still finds the line
 * ("stdin:1: matmul: ..."); the newline ends a trailing "-- comment".
 * Leaves [line, function] on success, [line] otherwise. */
static int add_return(lua_State *L) {
  const char *retline = lua_pushfstring(L, "return select(1, %s\n)", lua_tostring(L, -1));
  int status = luaL_loadbuffer(L, retline, strlen(retline), CHUNKNAME);
  lua_remove(L, -2);
  if (status != LUA_OK) lua_pop(L, 1);
  return status;
}

/* Compiles the chunk at the top, reading more lines while it is
 * incomplete. Leaves [chunk, function or message] and returns the
 * status, or CHUNK_CANCELLED after a Ctrl-C. */
static int multiline(lua_State *L, repl_input *in) {
  for (;;) {
    size_t len;
    const char *chunk = lua_tolstring(L, -1, &len);
    int status = luaL_loadbuffer(L, chunk, len, CHUNKNAME);
    if (!incomplete(L, status)) return status;
    int r = push_line(L, in, PROMPT2);
    if (r == LINE_CANCELLED) return CHUNK_CANCELLED;
    if (r == LINE_EOF) return luaL_loadbuffer(L, chunk, len, CHUNKNAME);
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
}

/* Reads and compiles one chunk; leaves its function, or the error
 * message, just above base and returns the load status, or CHUNK_EOF at
 * the end of input. A chunk given up with Ctrl-C starts over. */
static int load_chunk(lua_State *L, repl_input *in, int base) {
  for (;;) {
    lua_settop(L, base);
    int r = push_line(L, in, PROMPT1);
    if (r == LINE_EOF) return CHUNK_EOF;
    if (r == LINE_CANCELLED) continue;
    if (lua_tostring(L, -1)[0] == '=') { /* "=expr", as lua 5.4 allows */
      lua_pushfstring(L, "return %s", lua_tostring(L, -1) + 1);
      lua_remove(L, -2);
    }
    int status = add_return(L);
    if (status != LUA_OK) status = multiline(L, in);
    if (status == CHUNK_CANCELLED) continue;
    save_history(in, lua_tostring(L, base + 1));
    lua_remove(L, base + 1);
    return status;
  }
}

/* Readline, history, completion and the Ctrl-C handler for a terminal. */
static void start_terminal(lua_State *L, repl_input *in) {
  completion_state = L;
  rl_readline_name = "nnlua";
  rl_attempted_completion_function = complete;
  rl_basic_word_break_characters = WORD_BREAKS;
  rl_completer_word_break_characters = WORD_BREAKS;
  rl_getc_function = repl_getc;
  using_history();
  stifle_history(HISTORY_MAX);
  /* Timestamp lines ("#1700000000") between entries let multi-line
   * chunks read back as one entry. */
  history_comment_char = '#';
  history_write_timestamps = 1;
  history_multiline_entries = 1;
  in->history = history_file();
  if (in->history != NULL) read_history(in->history);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_prompt_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  nnlua_print_version(stdout);
}

static void stop_terminal(repl_input *in) {
  signal(SIGINT, SIG_DFL);
  if (in->history != NULL) history_truncate_file(in->history, HISTORY_MAX);
  fputc('\n', stdout);
  fflush(stdout);
}

/* The loop, as a C function of its own so that it starts on an empty
 * stack: slot 1 holds the input, chunks and results go above. */
static int repl_main(lua_State *L) {
  repl_input *in = push_input(L);
  int base = lua_gettop(L);
  if (in->tty) start_terminal(L, in);
  int status;
  while ((status = load_chunk(L, in, base)) != CHUNK_EOF) {
    if (status == LUA_OK) status = nnlua_docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK) print_results(L, base);
    else nnlua_report(L, status, NULL);
    lua_settop(L, base);
  }
  if (in->tty) stop_terminal(in);
  return 0;
}

void nnlua_repl(lua_State *L) {
  lua_pushcfunction(L, repl_main);
  lua_call(L, 0, 0);
}
