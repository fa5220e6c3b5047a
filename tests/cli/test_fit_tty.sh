#!/usr/bin/env bash
# nn.fit on a terminal (a pseudo-terminal from script(1)): a progress bar
# redrawn in place per batch (batches done, ETA, running loss and
# accuracy), then one line per epoch; and no bar when stdout is a pipe.
set -u
# Under the sanitizer build ctest preloads ASan for lua5.4; nnlua is
# instrumented itself, and script and bash must not be.
if [ -n "${LD_PRELOAD:-}" ]; then exec env -u LD_PRELOAD bash "$0"; fi

NNLUA=${NNLUA:-$(dirname "$0")/../../build/nnlua}
failed=0
fail() { failed=$((failed + 1)); echo "FAIL: $1"; [ -n "${2-}" ] && printf '  got: %q\n' "$2"; }

FIT='nn.manual_seed(1)
local x, y = nn.randn(96, 4), nn.randint(1, 3, {96})
local model = nn.Sequential{nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)}
nn.fit(model, {train = nn.data.tensor_dataset(x, y), batch_size = 32, epochs = 2,
               loss = nn.CrossEntropyLoss(), optimizer = nn.optim.SGD(model:parameters(), {lr = 0.1})})'

tty=$(script -qec "$NNLUA -e '$FIT'" /dev/null 2>&1)
for want in $'\rEpoch 1/2 1/3 [========' "/3 [" "] ETA " "loss " "accuracy " \
            $'\rEpoch 1/2 0.' $'\rEpoch 2/2 3/3 [========================] ETA 0s'; do
  [[ "$tty" == *"$want"* ]] || fail "terminal output lacks $(printf '%q' "$want")" "$tty"
done
[[ "$tty" == *$'\e[K'* ]] || fail "the epoch line does not clear the rest of the bar" "$tty"

piped=$("$NNLUA" -e "$FIT" | cat)
[[ "$piped" != *"ETA"* && "$piped" != *$'\r'* ]] || fail "a progress bar was drawn into a pipe" "$piped"
[ "$(grep -c '^Epoch [12]/2 ' <<<"$piped")" = 2 ] || fail "not one line per epoch into a pipe" "$piped"

[ $failed = 0 ] && echo "fit on a terminal: all passed"
exit $failed
