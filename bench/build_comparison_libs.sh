#!/usr/bin/env bash
# Builds MuonTrap and Exile from source checkouts, without Hex or elixir_make, for the optional
# comparison in lacca/bench/lacca_bench.exs (parts `start` and `pool`; docs/performance.md, "Issue 14,
# item 4"). Nothing of theirs is in this repository: check out a released tag of each beside it,
#     git clone <fhunleth/muontrap on GitHub> /work/ext/muontrap && git -C /work/ext/muontrap checkout v1.8.0
#     git clone <akash-akya/exile on GitHub> /work/ext/exile && git -C /work/ext/exile checkout v0.14.0
# then
#     bench/build_comparison_libs.sh /work/ext/muontrap /work/ext/exile
#     cd lacca && LACCA_BENCH_MUONTRAP=/work/ext/muontrap LACCA_BENCH_EXILE=/work/ext/exile \
#         mix run bench/lacca_bench.exs start
# Each directory must be named after the application (muontrap, exile): their code finds its
# program and NIF through Application.app_dir/2 and :code.priv_dir/1, which look for <name>/ebin in
# the code path and take <name>/priv beside it. Needs cc, make, elixirc and erlang-dev (erl_nif.h).
set -euo pipefail

app_file() {  # app dir vsn applications [mod]
    local dir=$1 app=$2 vsn=$3 apps=$4 mod=${5:-}
    local modules start=""
    [[ -n $mod ]] && start="{mod,{$mod,[]}},"
    modules=$(cd "$dir/ebin" && ls ./*.beam | sed -e 's|^\./||' -e 's/\.beam$//' -e "s/.*/'&'/" | paste -sd,)
    printf '{application,%s,[{description,"%s, built from source for lacca_bench"},{vsn,"%s"},{modules,[%s]},{registered,[]},%s{applications,[%s]}]}.\n' \
        "$app" "$app" "$vsn" "$modules" "$start" "$apps" >"$dir/ebin/$app.app"
}

vsn_of() { sed -n 's/^ *@version "\(.*\)"/\1/p' "$1/mix.exs" | head -1; }

for dir in "$@"; do
    dir=$(cd "$dir" && pwd)
    case $(basename "$dir") in
    muontrap)
        # The port program: c_src/Makefile installs it into $MIX_APP_PATH/priv.
        make -C "$dir/c_src" MIX_APP_PATH="$dir" all
        rm -rf "$dir/ebin" && mkdir -p "$dir/ebin"
        elixirc -o "$dir/ebin" "$dir/lib"
        app_file "$dir" muontrap "$(vsn_of "$dir")" kernel,stdlib,elixir,logger
        ;;
    exile)
        # The NIF (priv/exile.so) and the spawner program (priv/spawner).
        include=$(erl -noshell -eval \
            'io:format("~s/erts-~s/include", [code:root_dir(), erlang:system_info(version)]), halt().')
        make -C "$dir" ERL_INTERFACE_INCLUDE_DIR="$include" all
        rm -rf "$dir/ebin" && mkdir -p "$dir/ebin"
        # Exile.Process.Nif loads the NIF when compiled (@on_load): its priv must be found already.
        ERL_LIBS=$(dirname "$dir") elixirc -o "$dir/ebin" "$dir/lib"
        app_file "$dir" exile "$(vsn_of "$dir")" kernel,stdlib,elixir,logger,crypto "'Elixir.Exile'"
        ;;
    *)
        echo "$dir: expected a directory named muontrap or exile" >&2
        exit 2
        ;;
    esac
    echo "built $dir"
done
