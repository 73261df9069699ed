#!/usr/bin/env bash
# Bash completion of lbsim, driven as bash drives it: the script is sourced,
# COMP_WORDS/COMP_CWORD are set, the completion function is called, and
# COMPREPLY is checked.
#
# Usage: completion_test.sh LBSIM_BINARY COMPLETION_SCRIPT TEST_NAME
# Every function named test_* is one ctest entry.
set -u

LBSIM=$1
SCRIPT=$2
NAME=$3

# shellcheck source=../../src/cli/lbsim.bash
source "$SCRIPT" || { echo "FAIL: cannot source $SCRIPT"; exit 1; }

fail() { echo "FAIL $NAME: $*"; exit 1; }

# complete WORD... : COMP_WORDS=(lbsim WORD...), the cursor on the last word.
complete_words() {
    COMP_WORDS=("$LBSIM" "$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="${COMP_WORDS[*]}"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _lbsim
}

# expect WORDS... '=>' EXPECTED...: the completions, in any order, are exactly these.
expect() {
    local words=() want=()
    while [ "$1" != "=>" ]; do words+=("$1"); shift; done
    shift
    want=("$@")
    complete_words "${words[@]}"
    local got
    got=$(printf '%s\n' "${COMPREPLY[@]}" | sort)
    local exp
    exp=$(printf '%s\n' "${want[@]}" | sort)
    [ "$got" = "$exp" ] || fail "completing '${words[*]}': got [$(echo $got)], expected [$(echo $exp)]"
}

# The options of --help, read independently of the completion script.
help_long_options() { "$LBSIM" --help | grep -oE '^ +(-[A-Za-z0-9], )?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+'; }
help_short_options() { "$LBSIM" --help | grep -oE '^  -[A-Za-z0-9],' | tr -d ' ,'; }
policies() { "$LBSIM" --policy help | sed -n 's/^  \([a-z0-9-]*\) .*/\1/p'; }
sweepables() { "$LBSIM" --sweep help | sed -n 's/^  \([a-z0-9-]*\) .*/\1/p'; }

# The names lbsim lists when it refuses a value: "... (linkerd or tower)".
names_in_error() {
    local msg
    msg=$("$LBSIM" "$1" no-such-value 2>&1 >/dev/null)
    [ -n "$msg" ] || fail "lbsim $1 no-such-value gave no message"
    printf '%s\n' "$msg" | sed -E 's/.*(\(|expected )//; s/\)$//; s/, | or /\n/g' | sed 's/:.*/:/'
}

test_every_help_option_completes() {
    local opts n=0 o
    opts=$(help_long_options)
    [ "$(echo "$opts" | wc -l)" -gt 40 ] || fail "could not read --help: $opts"
    # All of them from "--", each exactly once.
    expect -- "=>" $opts
    # Each one from its first letters.
    for o in $opts; do
        complete_words "${o:0:$((${#o} - 1))}"
        printf '%s\n' "${COMPREPLY[@]}" | grep -qx -- "$o" || fail "'${o:0:$((${#o} - 1))}' does not complete to $o"
        n=$((n + 1))
    done
    for o in $(help_short_options); do
        expect "$o" "=>" "$o"
        n=$((n + 1))
    done
    echo "all $n options of --help complete"
}

test_policy_names_complete_after_policy() {
    local all
    all=$(policies)
    [ "$(echo "$all" | wc -l)" -ge 6 ] || fail "--policy help lists: $all"
    expect --policy "" "=>" $all help
    expect --policy ema- "=>" ema-greedy ema-softmax
    expect --policy = r "=>" round-robin random
    # Where '=' is not a word break: one word "--policy=r".
    expect --policy=r "=>" --policy=round-robin --policy=random
    # --policy= with the cursor right after '=': bash gives the words "--policy" "=".
    COMP_WORDS=("$LBSIM" --policy =)
    COMP_CWORD=2
    _lbsim
    [ "${#COMPREPLY[@]}" -eq $(($(echo "$all" | wc -l) + 1)) ] || fail "--policy=: ${COMPREPLY[*]}"
}

test_policy_lists_complete_after_compare() {
    expect --compare round "=>" round-robin
    expect --compare ema-greedy,p "=>" ema-greedy,p2c-peak-ewma
    # Each policy once: those already listed are not offered again.
    local rest
    rest=$(policies | grep -vx ema-greedy | grep -vx random | sed 's/^/random,ema-greedy,/')
    expect --compare random,ema-greedy, "=>" $rest
    # What completes is accepted.
    complete_words --compare ema-greedy,
    "$LBSIM" --compare "${COMPREPLY[0]}" --help >/dev/null || fail "lbsim refuses --compare ${COMPREPLY[0]}"
}

test_clock_replay_format_and_jitter_names_are_lbsim_s() {
    local opt names got
    for opt in --clock --replay --format --jitter; do
        names=$(names_in_error "$opt" | sort)
        complete_words "$opt" ""
        got=$(printf '%s\n' "${COMPREPLY[@]}" | sort)
        [ "$got" = "$names" ] || fail "$opt completes [$(echo $got)], lbsim lists [$(echo $names)]"
    done
    expect --replay l "=>" linkerd
    expect --clock "" "=>" real virtual
    expect --clock v "=>" virtual
    expect -f j "=>" json
    expect --format "" "=>" text json
    expect --jitter log "=>" lognormal:
    for v in linkerd tower; do "$LBSIM" --replay "$v" --help >/dev/null || fail "--replay $v refused"; done
    for v in text json; do "$LBSIM" --format "$v" --help >/dev/null || fail "--format $v refused"; done
}

test_sweep_names_and_metrics_are_lbsim_s() {
    local names got
    names=$(sweepables | sed 's/$/=/' | sort)
    [ "$(echo "$names" | wc -l)" -ge 20 ] || fail "lbsim --sweep help lists: $names"
    complete_words --sweep ""
    got=$(printf '%s\n' "${COMPREPLY[@]}" | sort)
    [ "$got" = "$names" ] || fail "--sweep completes [$(echo $got)], lbsim lists [$(echo $names)]"
    names=$(names_in_error --sweep-metric | sort)
    complete_words --sweep-metric ""
    got=$(printf '%s\n' "${COMPREPLY[@]}" | sort)
    [ "$got" = "$names" ] || fail "--sweep-metric completes [$(echo $got)], lbsim lists [$(echo $names)]"
    expect --sweep al "=>" alpha=
    expect --sweep c "=>" choices= capacity= concurrency= client-idle= clients=
    expect --sweep-metric p9 "=>" p99 p999
    # The values are typed: nothing is offered after "NAME=", in any split of the words.
    expect --sweep alpha = "=>"
    expect --sweep alpha = 0. "=>"
    expect --sweep alpha=0. "=>"
    expect --sweep=alpha=0. "=>"
    expect --sweep alpha = 0.1 --sweep-m "=>" --sweep-metric
    # What completes is accepted.
    local v
    for v in $(sweepables); do
        "$LBSIM" --sweep "$v=1" --help >/dev/null || fail "lbsim refuses --sweep $v=1"
    done
    for v in $(names_in_error --sweep-metric); do
        "$LBSIM" --sweep-metric "$v" --help >/dev/null 2>&1 || fail "lbsim refuses --sweep-metric $v"
    done
}

test_files_complete_after_scenario_and_report() {
    local dir
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' RETURN
    touch "$dir/drill.txt" "$dir/dry.svg" "$dir/other"
    mkdir "$dir/drafts"
    expect --scenario "$dir/dr" "=>" "$dir/drill.txt" "$dir/drafts" "$dir/dry.svg"
    expect --report "$dir/dry" "=>" "$dir/dry.svg"
    # --report writes an SVG: only those, and the directories on the way.
    expect --report "$dir/dr" "=>" "$dir/drafts" "$dir/dry.svg"
    expect --report "$dir/" "=>" "$dir/drafts" "$dir/dry.svg"
    expect --scenario = "$dir/o" "=>" "$dir/other"
}

test_merge_completes_its_options_and_files() {
    local dir
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' RETURN
    touch "$dir/part.0" "$dir/part.1" "$dir/plot.svg"
    expect me "=>" merge
    expect merge --f "=>" --format
    expect merge --format "" "=>" text json
    expect merge --sweep-metric p9 "=>" p99 p999
    expect merge "$dir/part" "=>" "$dir/part.0" "$dir/part.1"
    expect merge --report "$dir/pl" "=>" "$dir/plot.svg"
    expect --resume "$dir/part.1" "=>" "$dir/part.1"
    # What completes is accepted.
    "$LBSIM" merge --help >/dev/null || fail "lbsim merge --help failed"
}

test_values_are_not_completed_as_options() {
    # After an option that takes a number, nothing is offered (not the options).
    expect --backends "" "=>"
    expect -n "" "=>"
    expect --seed 1 --rou "=>" --rounds
    # An option without a value is followed by the options again.
    complete_words --quiet --ver
    [ "${COMPREPLY[*]}" = --version ] || fail "after --quiet: ${COMPREPLY[*]}"
}

test_registered_for_lbsim() {
    complete -p lbsim | grep -q -- '-F _lbsim' || fail "complete -p lbsim: $(complete -p lbsim 2>&1)"
}

if ! declare -F "$NAME" >/dev/null; then
    echo "no test named $NAME"
    exit 2
fi
"$NAME"
echo "ok   $NAME"
