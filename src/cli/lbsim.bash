# bash completion for lbsim(1)                                -*- shell-script -*-
# shellcheck shell=bash disable=SC2207 # COMPREPLY=($(compgen ...)) with IFS set to a newline
#
# Options are read from `lbsim --help`, policy names from `lbsim --policy
# help` and what a sweep can vary from `lbsim --sweep help`, of the very
# binary being completed, so that the completion always matches the
# program. Values that lbsim does not list (clocks, replays, formats, jitter
# kinds, sweep metrics) are named here; a test compares them with lbsim's
# own error messages. After "lbsim merge", its own few options and files.

_lbsim_run() {
    # The binary as typed (lbsim, ./build/lbsim, ~/bin/lbsim).
    local cmd=$1
    shift
    # shellcheck disable=SC2088 # the word as typed: a literal "~/"
    [[ $cmd == "~/"* ]] && cmd=$HOME/${cmd#"~/"}
    command -v -- "$cmd" >/dev/null 2>&1 || return 1
    LC_ALL=C "$cmd" "$@" 2>/dev/null
}

# Prints "NAME ARG" per option (ARG: 1 takes a value, 0 not), with the short
# name as a second line when there is one: "-n 1 --backends".
_lbsim_options() {
    local line re='^ +(-([A-Za-z0-9]), )?--([a-z0-9-]+)( ([^ ]+))?( |$)'
    while IFS= read -r line; do
        [[ $line =~ $re ]] || continue
        local arg=0
        [[ -n ${BASH_REMATCH[5]} ]] && arg=1
        printf -- '--%s %s\n' "${BASH_REMATCH[3]}" "$arg"
        [[ -n ${BASH_REMATCH[2]} ]] && printf -- '-%s %s --%s\n' "${BASH_REMATCH[2]}" "$arg" "${BASH_REMATCH[3]}"
    done < <(_lbsim_run "$1" --help)
}

_lbsim_policies() {
    local line re='^  ([a-z0-9][a-z0-9-]*) '
    while IFS= read -r line; do
        [[ $line =~ $re ]] && printf '%s\n' "${BASH_REMATCH[1]}"
    done < <(_lbsim_run "$1" --policy help)
}

_lbsim_sweepables() {
    local line re='^  ([a-z][a-z0-9-]*) '
    while IFS= read -r line; do
        [[ $line =~ $re ]] && printf '%s=\n' "${BASH_REMATCH[1]}"
    done < <(_lbsim_run "$1" --sweep help)
}

_lbsim_formats=$'text\njson'
_lbsim_metrics=$'p50\np99\np999\nsuccess\nfastest\nregret\nswitches\ntop_share\nmean'

# lbsim merge [--format FMT] [--report FILE.svg] [--sweep-metric METRIC] FILE...
_lbsim_merge() {
    local prev=$1 cur=$2 IFS=$'\n'
    case $prev in
    --format | -f)
        COMPREPLY=($(compgen -W "$_lbsim_formats" -- "$cur"))
        ;;
    --sweep-metric)
        COMPREPLY=($(compgen -W "$_lbsim_metrics" -- "$cur"))
        ;;
    *)
        if [[ $cur == -?* && $prev != --report ]]; then
            COMPREPLY=($(compgen -W $'--format\n--report\n--sweep-metric\n--help' -- "$cur"))
        else
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
        fi
        ;;
    esac
}

_lbsim() {
    local cmd=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev=''
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()

    # --opt=value: bash splits the line at '=' (COMP_WORDBREAKS), so the words
    # are "--opt" "=" "value", and what gets replaced is the part after '='.
    # Where '=' is not a word break, the word is "--opt=value" itself.
    local keep='' before=''
    if [[ $cur == "=" ]]; then
        cur=
        ((COMP_CWORD > 1)) && before=${COMP_WORDS[COMP_CWORD - 2]}
    elif [[ $prev == "=" ]] && ((COMP_CWORD > 1)); then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
        ((COMP_CWORD > 2)) && before=${COMP_WORDS[COMP_CWORD - 3]}
    elif [[ $cur == --*=* ]]; then
        prev=${cur%%=*} keep=${cur%%=*}= cur=${cur#*=}
    fi

    if ((COMP_CWORD > 1)) && [[ ${COMP_WORDS[1]} == merge ]]; then
        _lbsim_merge "$prev" "$cur"
        ((${#COMPREPLY[@]})) && COMPREPLY=("${COMPREPLY[@]/#/$keep}")
        return 0
    fi

    local -A takes_arg=() long_of=()
    local name arg long
    while read -r name arg long; do
        takes_arg[$name]=$arg
        long_of[$name]=${long:-$name}
    done < <(_lbsim_options "$cmd")

    if [[ $prev == -* && ${takes_arg[$prev]} == 1 ]]; then
        local IFS=$'\n'
        case ${long_of[$prev]} in
        --policy)
            COMPREPLY=($(compgen -W "$(_lbsim_policies "$cmd")"$'\n'"help" -- "$cur"))
            ;;
        --compare)
            # A comma-separated list: complete its last element, each policy once.
            local head='' last=$cur p
            [[ $cur == *,* ]] && head=${cur%,*}, last=${cur##*,}
            for p in $(_lbsim_policies "$cmd"); do
                [[ ,$head == *",$p,"* || $p != "$last"* ]] || COMPREPLY+=("$head$p")
            done
            compopt -o nospace 2>/dev/null
            ;;
        --retry-on)
            # A comma-separated list: complete its last element, each kind once.
            local head='' last=$cur k
            [[ $cur == *,* ]] && head=${cur%,*}, last=${cur##*,}
            for k in connect reset timeout 5xx; do
                [[ ,$head == *",$k,"* || $k != "$last"* ]] || COMPREPLY+=("$head$k")
            done
            compopt -o nospace 2>/dev/null
            ;;
        --replay)
            COMPREPLY=($(compgen -W $'linkerd\ntower\nmetastable' -- "$cur"))
            ;;
        --format)
            COMPREPLY=($(compgen -W "$_lbsim_formats" -- "$cur"))
            ;;
        --jitter)
            # exp:MS, lognormal:SIGMA, uniform:WIDTH: the number is typed after the colon.
            COMPREPLY=($(compgen -W $'none\nexp:\nlognormal:\nuniform:' -- "$cur"))
            [[ ${COMPREPLY[*]} == *: ]] && compopt -o nospace 2>/dev/null
            ;;
        --sweep)
            # NAME=VALUES: the name is completed, the values are typed.
            [[ $cur == *=* ]] ||
                COMPREPLY=($(compgen -W "$(_lbsim_sweepables "$cmd")" -- "$cur"))
            compopt -o nospace 2>/dev/null
            ;;
        --sweep-metric)
            COMPREPLY=($(compgen -W "$_lbsim_metrics" -- "$cur"))
            ;;
        --clock)
            COMPREPLY=($(compgen -W $'real\nvirtual' -- "$cur"))
            ;;
        --scenario | --resume)
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -f -- "$cur"))
            ;;
        --report)
            # An SVG file, or a directory on the way to one.
            compopt -o filenames 2>/dev/null
            COMPREPLY=($(compgen -d -- "$cur"; compgen -f -X '!*.svg' -- "$cur" | while IFS= read -r f; do
                [[ -d $f ]] || printf '%s\n' "$f"
            done))
            ;;
        --server)
            [[ $cur == *:* ]] || COMPREPLY=($(compgen -W "http://" -- "$cur"))
            compopt -o nospace 2>/dev/null
            ;;
        esac
        ((${#COMPREPLY[@]})) && COMPREPLY=("${COMPREPLY[@]/#/$keep}")
        return 0
    fi

    # The values of "--sweep NAME=" (bash splits the word at '='): typed.
    [[ -n $before && ${long_of[$before]-} == --sweep ]] && return 0

    # lbsim takes no operands: offer the options, and first the merge command.
    if [[ $cur == "" || $cur == --* || $cur == - ]]; then
        local opts=() o
        for o in "${!takes_arg[@]}"; do
            [[ $o == --* ]] && opts+=("$o")
        done
        ((COMP_CWORD == 1)) && [[ $cur == "" ]] && opts+=(merge)
        COMPREPLY=($(compgen -W "${opts[*]}" -- "$cur"))
    elif ((COMP_CWORD == 1)) && [[ merge == "$cur"* ]]; then
        COMPREPLY=(merge)
    elif [[ $cur == -? && -n ${takes_arg[$cur]} ]]; then
        COMPREPLY=("$cur")
    fi
    return 0
}

complete -F _lbsim lbsim
