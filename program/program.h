/*
 * program: what the nnlua executable's two files share. nnlua.c is the
 * driver (options, the `arg` table, scripts, errors); repl.c is the
 * interactive loop. Neither is part of the nn.core module.
 */
#ifndef NN_PROGRAM_H
#define NN_PROGRAM_H

#include <stdio.h>

#include <lua.h>

#define NNLUA_PROGNAME "nnlua"

/* Calls the function below its narg arguments like lua_pcall, with a
 * message handler that appends a traceback, and with Ctrl-C turned into
 * the error "interrupted!" for the duration of the call. Returns the
 * status; on error the message is left on the stack. */
int nnlua_docall(lua_State *L, int narg, int nres);

/* On error, prints the message at the top of the stack to stderr (after
 * "prefix: " when prefix is not NULL) and pops it. Returns status. */
int nnlua_report(lua_State *L, int status, const char *prefix);

/* Writes "nnlua 0.1.0 (Lua 5.4.x)" and a newline to out. */
void nnlua_print_version(FILE *out);

/* Runs the interactive loop until end of input. Reads through readline
 * with prompts when stdin is a terminal, else line by line without
 * prompts. Raises only on memory errors. */
void nnlua_repl(lua_State *L);

#endif
