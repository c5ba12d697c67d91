# shellcheck shell=sh disable=SC3043 # local: dash, bash and busybox sh have it
# tracenet.sh: a network of real hoptraced daemons on loopback, for the
# integration tests and the demo. Source it from a POSIX sh script:
#
#   . tests/integration/tracenet.sh
#   net_init "" build/bin              # a fresh folder under $TMPDIR; the anchor
#   net_carrier TERM-CO --initiator    # keys, certificate (initiator role), a free port
#   net_carrier TRANSIT-1
#   net_carrier OFFNET --no-daemon     # a carrier that does not run HopTrace
#   net_link TERM-CO TRANSIT-1         # peers and trunk groups on both sides
#   net_link TRANSIT-1 OFFNET          # trunk groups only: OFFNET has no daemon
#   net_start && net_wait_established || fail ...
#   net_import TERM-CO calls.csv       # exit code of `hoptrace cdr import`
#   net_ht TERM-CO cdr stats --json    # the CLI against TERM-CO's daemon
#   net_kill TRANSIT-1 [SIGNAL]        # SIGKILL (or STOP, CONT...); net_start it again
#   net_stop                           # SIGTERM, wait, sockets gone
#
# Everything lives in $NET_DIR: anchor.key/.pub, and per carrier c/ID/ with
# ID.key, ID.pub, ID.cert, ID.conf, log (the daemon's stderr), ctl.sock, state/,
# import.json (the last net_import). For ht_netgen's networks: net_generate
# demo/demo.net (records in $NET_DIR/gen), net_import_generated, net_expect.
#
# net_init installs a trap that kills every daemon still running and
# removes $NET_DIR on any exit, including failures and SIGINT/SIGTERM/SIGHUP;
# a script with its own EXIT trap calls net_cleanup from it. NET_KEEP=1
# keeps the folder (and says where).
#
# Trunk groups that net_link and net_carrier make, for CSVs written by hand:
# on every daemon carrier TG-LOCAL (its own customers and subscribers, i.e.
# `local`), and on A, for `net_link A B`, TG-B toward B. net_trunk adds
# others (net_load adds ht_netgen's). Configurations are written by
# net_start from this state plus net_conf / net_conf_all text, so a test can
# add any section, e.g. net_conf TRANSIT-1 '[policy]\nrequests_per_second = 5'
# (a key given twice is refused). NET_LOG_LEVEL sets every daemon's [log]
# level (default info); NET_HD_OVERRIDE / NET_HT_OVERRIDE run other binaries.
#
# Functions print what went wrong on stderr and return non-zero; they never
# exit, and work under set -eu. Call them directly, not in $(...): they keep
# process IDs in the calling shell. Needs jq.

NET_DIR=""
NET_BIN=""
NET_HT=""
NET_HD=""
_net_pids=""      # every daemon process started, for the cleanup
_net_conf_all=""  # text appended to every configuration

_net_err() {
	echo "tracenet: $*" >&2
}

# _net_d ID: the carrier's folder.
_net_d() {
	echo "$NET_DIR/c/$1"
}

_net_is() {
	[ -d "$NET_DIR/c/$1" ]
}

_net_daemon() {
	[ -d "$NET_DIR/c/$1" ] && [ ! -e "$NET_DIR/c/$1/no-daemon" ]
}

# _net_alive PID: running, and not a zombie.
_net_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	case $(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) in
	Z | X | "") return 1 ;;
	esac
	return 0
}

# net_pid ID: the process ID of ID's daemon, if it is running.
net_pid() {
	local p
	p=$(cat "$(_net_d "$1")/pid" 2>/dev/null) || return 1
	[ -n "$p" ] && _net_alive "$p" && echo "$p"
}

net_sock() { echo "$(_net_d "$1")/ctl.sock"; }
net_conf_file() { echo "$(_net_d "$1")/$1.conf"; }
net_log() { echo "$(_net_d "$1")/log"; }
net_port() { cat "$(_net_d "$1")/port"; }

# net_ids [--daemons]: every carrier, in the order they were made.
net_ids() {
	local i
	[ -f "$NET_DIR/carriers" ] || return 0
	while read -r i; do
		if [ "${1:-}" != --daemons ] || _net_daemon "$i"; then
			echo "$i"
		fi
	done <"$NET_DIR/carriers"
}

# net_ht ID ARGS...: the CLI against ID's daemon.
net_ht() {
	local sock
	sock=$(net_sock "$1")
	shift
	HOPTRACE_SOCKET=$sock "$NET_HT" "$@"
}

# net_init DIR BINDIR: DIR empty or "" for a fresh folder under $TMPDIR.
# Makes the trust anchor and installs the cleanup trap.
net_init() {
	if [ $# -lt 2 ] || [ ! -x "$2/hoptrace" ] || [ ! -x "$2/hoptraced" ]; then
		_net_err "usage: net_init DIR BINDIR (BINDIR with hoptrace and hoptraced)"
		return 2
	fi
	command -v jq >/dev/null || { _net_err "jq is needed"; return 1; }
	[ -z "$NET_DIR" ] || net_cleanup # one network at a time
	NET_BIN=$(cd "$2" && pwd) || return 1
	NET_HT=${NET_HT_OVERRIDE:-$NET_BIN/hoptrace}
	NET_HD=${NET_HD_OVERRIDE:-$NET_BIN/hoptraced}
	if [ -n "$1" ]; then
		mkdir -p "$1" && NET_DIR=$(cd "$1" && pwd) || return 1
		if [ -n "$(ls -A "$NET_DIR")" ]; then
			_net_err "$NET_DIR is not empty"
			NET_DIR=""
			return 1
		fi
	else
		NET_DIR=$(mktemp -d "${TMPDIR:-/tmp}/htnet.XXXXXX") || return 1
	fi
	_net_pids=""
	_net_conf_all=""
	trap net_cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkdir -p "$NET_DIR/c" && : >"$NET_DIR/carriers" && : >"$NET_DIR/ports" || return 1
	"$NET_HT" ca init -o "$NET_DIR/anchor" >/dev/null || {
		_net_err "ca init failed"
		return 1
	}
}

# _net_free_port: a TCP port nobody on this machine uses, nor this network.
_net_free_port() {
	local p tries=0
	p=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
	while [ $tries -lt 2000 ]; do
		# /proc/net/tcp* list every local and remote port in use, in hex.
		if ! grep -q "$(printf ':%04X ' "$p")" /proc/net/tcp /proc/net/tcp6 2>/dev/null &&
			! grep -qx "$p" "$NET_DIR/ports"; then
			echo "$p" >>"$NET_DIR/ports"
			echo "$p"
			return 0
		fi
		p=$((p + 1))
		[ $p -lt 60000 ] || p=20000
		tries=$((tries + 1))
	done
	_net_err "no free TCP port found"
	return 1
}

# net_carrier ID [--initiator] [--no-daemon] [--days N]: keys and a
# certificate from the anchor (not for --no-daemon), and a free port.
net_carrier() {
	local id="$1" role="" nod="" days=30 d
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--initiator) role="--role initiator" ;;
		--no-daemon) nod=1 ;;
		--days)
			days=$2
			shift
			;;
		*)
			_net_err "net_carrier $id: unknown option $1"
			return 2
			;;
		esac
		shift
	done
	if [ -z "$NET_DIR" ] || _net_is "$id"; then
		_net_err "net_carrier $id: no net_init, or made twice"
		return 1
	fi
	d=$(_net_d "$id")
	mkdir -p "$d" && : >"$d/peers" && : >"$d/trunks" && : >"$d/extra" || return 1
	echo "$id" >>"$NET_DIR/carriers"
	if [ -n "$nod" ]; then
		: >"$d/no-daemon"
		return 0
	fi
	# shellcheck disable=SC2086 # $role is two words or none
	if ! "$NET_HT" keygen -o "$d/$id" >/dev/null ||
		! "$NET_HT" ca sign --ca "$NET_DIR/anchor" --id "$id" --pub "$d/$id.pub" \
			--days "$days" $role -o "$d/$id.cert" >/dev/null; then
		_net_err "carrier $id: keys or certificate failed"
		return 1
	fi
	echo "TG-LOCAL = local" >>"$d/trunks"
	_net_free_port >"$d/port" || return 1
}

# net_trunk ID NAME TARGET: trunk group NAME on ID leads to TARGET (a
# provider ID, or local).
net_trunk() {
	if ! _net_is "$1"; then
		_net_err "net_trunk: unknown carrier $1"
		return 1
	fi
	echo "$2 = $3" >>"$(_net_d "$1")/trunks"
}

# net_link A B: interconnect A and B: each a peer of the other where both
# run HopTrace; trunk groups TG-B on A and TG-A on B in any case.
net_link() {
	local a="$1" b="$2"
	if ! _net_is "$a" || ! _net_is "$b" || [ "$a" = "$b" ]; then
		_net_err "net_link: unknown carrier in '$a $b'"
		return 1
	fi
	if grep -qx -- "$b" "$(_net_d "$a")/linked" 2>/dev/null; then
		_net_err "net_link: $a and $b linked twice"
		return 1
	fi
	echo "$b" >>"$(_net_d "$a")/linked"
	echo "$a" >>"$(_net_d "$b")/linked"
	if _net_daemon "$a"; then
		echo "TG-$b = $b" >>"$(_net_d "$a")/trunks"
		_net_daemon "$b" && echo "$b" >>"$(_net_d "$a")/peers"
	fi
	if _net_daemon "$b"; then
		echo "TG-$a = $a" >>"$(_net_d "$b")/trunks"
		_net_daemon "$a" && echo "$a" >>"$(_net_d "$b")/peers"
	fi
	return 0
}

# net_conf ID TEXT: TEXT (printf %b: \n for line ends) appended to ID's
# configuration; net_conf_all TEXT: to every carrier's. Written at net_start.
net_conf() {
	if ! _net_daemon "$1"; then
		_net_err "net_conf: $1 is not a daemon carrier"
		return 1
	fi
	printf '%b\n' "$2" >>"$(_net_d "$1")/extra"
}

net_conf_all() {
	_net_conf_all="$_net_conf_all$1\n"
}

# net_load FILE: carriers, links and trunk groups from ht_netgen's network.txt.
net_load() {
	local kw a b c o f
	if [ ! -r "$1" ]; then
		_net_err "net_load: cannot read $1"
		return 1
	fi
	while read -r kw a b c; do
		case $kw in
		carrier)
			o=""
			for f in $b $c; do
				case $f in
				initiator) o="$o --initiator" ;;
				offnet) o="$o --no-daemon" ;;
				*)
					_net_err "net_load: $1: carrier $a: unknown flag '$f'"
					return 1
					;;
				esac
			done
			# shellcheck disable=SC2086 # $o is words
			net_carrier "$a" $o || return 1
			;;
		link) net_link "$a" "$b" || return 1 ;;
		trunk)
			if _net_daemon "$a"; then
				net_trunk "$a" "$b" "$c" || return 1
			fi
			;;
		"" | \#*) ;;
		*)
			_net_err "net_load: $1: unknown line '$kw'"
			return 1
			;;
		esac
	done <"$1"
}

# net_generate NETWORK [ht_netgen OPTIONS...]: ht_netgen's records of the
# network described in NETWORK (demo/demo.net) into $NET_DIR/gen, and its
# carriers, links and trunk groups (net_load).
net_generate() {
	local desc="$1"
	shift
	if ! "$NET_BIN/ht_netgen" "$@" -o "$NET_DIR/gen" "$desc" >/dev/null; then
		_net_err "ht_netgen failed on $desc"
		return 1
	fi
	net_load "$NET_DIR/gen/network.txt"
}

# net_expect FIELD: FIELD of the call to trace in ht_netgen's expect.txt
# (calling, called, time, time_ms, terminating, origin, customer, hops).
net_expect() {
	sed -n 's/^trace //p' "$NET_DIR/gen/expect.txt" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# net_import_generated [ID...]: imports each carrier's generated records
# (default: every daemon carrier) and fails unless each import reports
# exactly what ht_netgen made: imported, rejected and duplicate rows.
net_import_generated() {
	local id line k want got
	if [ $# -eq 0 ]; then
		# shellcheck disable=SC2046 # provider IDs have no spaces
		set -- $(net_ids --daemons)
	fi
	for id in "$@"; do
		if ! line=$(grep "^import $id " "$NET_DIR/gen/expect.txt"); then
			_net_err "no generated records for $id"
			return 1
		fi
		k=0
		net_import "$id" "$NET_DIR/gen/$id.csv" || k=$?
		if [ $k -gt 1 ]; then
			_net_err "$id: cdr import failed: $(cat "$(_net_d "$id")/import.err")"
			return 1
		fi
		for k in imported rejected duplicates; do
			want=$(echo "$line" | tr ' ' '\n' | sed -n "s/^$k=//p")
			got=$(jq ".$k" "$(_net_d "$id")/import.json")
			if [ "$got" != "$want" ]; then
				_net_err "$id: import reports $k $got, ht_netgen made $want"
				return 1
			fi
		done
	done
}

# _net_write_conf ID
_net_write_conf() {
	local d p
	d=$(_net_d "$1")
	{
		printf '# written by tracenet.sh\n[identity]\nprovider_id = %s\n' "$1"
		printf 'key = %s/%s.key\ncertificate = %s/%s.cert\n' "$d" "$1" "$d" "$1"
		printf '[trust]\nanchor = %s/anchor.pub\n' "$NET_DIR"
		printf '[listen]\naddress = 127.0.0.1:%s\n' "$(cat "$d/port")"
		printf '[control]\nsocket = %s/ctl.sock\n' "$d"
		printf '[state]\ndirectory = %s/state\n' "$d"
		printf '[log]\nlevel = %s\n' "${NET_LOG_LEVEL:-info}"
		printf '[store]\ncountry_code = 1\n'
		printf '[policy]\nhandshake_timeout_ms = 2000\nkeepalive_ms = 1000\n'
		printf 'dead_peer_ms = 5000\nbackoff_min_ms = 50\nbackoff_max_ms = 500\n'
		printf '[trunks]\n'
		cat "$d/trunks"
		while read -r p; do
			printf '[peer %s]\naddress = 127.0.0.1:%s\n' "$p" "$(cat "$(_net_d "$p")/port")"
		done <"$d/peers"
		printf '%b' "$_net_conf_all"
		cat "$d/extra"
	} >"$d/$1.conf"
}

# _net_tail ID: the end of ID's log, for failure messages.
_net_tail() {
	echo "--- $1's log (last lines):" >&2
	tail -n "${2:-15}" "$(net_log "$1")" >&2 2>/dev/null
	return 0
}

# net_start [ID...]: writes the configurations, checks them (hoptraced -n)
# and starts the daemons (default: every daemon carrier not running); returns
# when each answers on its control socket. Each daemon gets SIGTERM if the
# shell that started it dies, even by SIGKILL (setpriv --pdeathsig).
net_start() {
	local id d i started="" pdeath=""
	if [ $# -eq 0 ]; then
		for id in $(net_ids --daemons); do
			net_pid "$id" >/dev/null || set -- "$@" "$id"
		done
	fi
	command -v setpriv >/dev/null && pdeath="setpriv --pdeathsig TERM --"
	for id in "$@"; do
		if ! _net_daemon "$id"; then
			_net_err "net_start: $id is not a daemon carrier"
			return 1
		fi
		if net_pid "$id" >/dev/null; then
			_net_err "net_start: $id is already running"
			return 1
		fi
		d=$(_net_d "$id")
		_net_write_conf "$id"
		if ! "$NET_HD" -n -c "$d/$id.conf" >"$d/conf.check" 2>&1; then
			_net_err "$id: configuration refused: $(cat "$d/conf.check")"
			return 1
		fi
		# shellcheck disable=SC2086 # $pdeath is words or none
		$pdeath "$NET_HD" -c "$d/$id.conf" 2>>"$d/log" &
		echo $! >"$d/pid"
		_net_pids="$_net_pids $!"
		started="$started $id"
	done
	for id in $started; do
		i=0
		until net_ht "$id" status >/dev/null 2>&1; do
			if ! net_pid "$id" >/dev/null; then
				_net_err "$id's daemon exited at start"
				_net_tail "$id"
				return 1
			fi
			if [ $i -ge 150 ]; then
				_net_err "$id's daemon does not answer on $(net_sock "$id")"
				_net_tail "$id"
				return 1
			fi
			sleep 0.1
			i=$((i + 1))
		done
	done
}

# _net_pending: "A->B" for each running daemon A whose peer B runs but whose
# session with it is not established.
_net_pending() {
	local id p up
	for id in $(net_ids --daemons); do
		net_pid "$id" >/dev/null || continue
		up=$(net_ht "$id" peers --json 2>/dev/null |
			jq -r '.peers[] | select(.state == "established") | .provider_id' 2>/dev/null)
		while read -r p; do
			net_pid "$p" >/dev/null || continue
			if ! printf '%s\n' "$up" | grep -qx -- "$p"; then
				printf '%s->%s ' "$id" "$p"
			fi
		done <"$(_net_d "$id")/peers"
	done
}

# net_wait_established [SECONDS]: every session between running daemons up
# (default 15 s).
net_wait_established() {
	local limit=$((${1:-15} * 10)) i=0 pend id
	while :; do
		pend=$(_net_pending)
		[ -z "$pend" ] && return 0
		if [ $i -ge $limit ]; then
			_net_err "sessions not established after ${1:-15} s: $pend"
			for id in $(net_ids --daemons); do
				net_pid "$id" >/dev/null && _net_tail "$id" 5
			done
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

# net_import ID FILE [ARGS...]: `hoptrace cdr import --json` into ID's
# daemon; the summary in c/ID/import.json, the bad rows' messages in
# c/ID/import.err. Returns the CLI's exit code (1: some rows rejected).
net_import() {
	local id="$1" f="$2" d
	shift 2
	d=$(_net_d "$id")
	net_ht "$id" cdr import --json "$f" "$@" >"$d/import.json" 2>"$d/import.err"
}

# _net_reap ID SECONDS: waits for ID's daemon to exit; its exit status in
# _net_status. Returns 1 if it is still running after SECONDS.
_net_reap() {
	local p i=0
	p=$(cat "$(_net_d "$1")/pid" 2>/dev/null) || p=""
	_net_status=0
	[ -n "$p" ] || return 0
	while _net_alive "$p"; do
		[ $i -lt $(($2 * 10)) ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
	wait "$p" 2>/dev/null || _net_status=$?
	rm -f "$(_net_d "$1")/pid"
}

# net_stop [ID...]: SIGTERM, then waits (10 s) for each daemon to exit;
# fails if one exits non-zero, has to be killed, or leaves its socket.
net_stop() {
	local id p rc=0
	if [ $# -eq 0 ]; then
		# shellcheck disable=SC2046 # provider IDs have no spaces
		set -- $(net_ids --daemons)
	fi
	for id in "$@"; do
		if p=$(net_pid "$id"); then
			kill -CONT "$p" || : # a stopped daemon would not see SIGTERM
			kill -TERM "$p" || :
		fi
	done
	for id in "$@"; do
		_net_daemon "$id" || continue
		if ! _net_reap "$id" 10; then
			_net_err "$id did not stop within 10 s of SIGTERM; killed"
			kill -KILL "$(cat "$(_net_d "$id")/pid")" 2>/dev/null || :
			_net_reap "$id" 5 || :
			rc=1
		elif [ "$_net_status" -ne 0 ]; then
			_net_err "$id exited with status $_net_status on SIGTERM"
			_net_tail "$id"
			rc=1
		fi
		if [ -e "$(net_sock "$id")" ]; then
			_net_err "$id left its control socket behind"
			rc=1
		fi
	done
	return $rc
}

# net_kill ID [SIGNAL]: sends SIGNAL (default KILL); for KILL, TERM, INT and
# QUIT, waits until the daemon is gone. STOP and CONT freeze and thaw it.
net_kill() {
	local p sig="${2:-KILL}"
	if ! p=$(net_pid "$1"); then
		_net_err "net_kill: $1 is not running"
		return 1
	fi
	kill -s "$sig" "$p" || return 1
	case $sig in
	KILL | TERM | INT | QUIT)
		if ! _net_reap "$1" 10; then
			_net_err "net_kill: $1 still runs 10 s after SIG$sig"
			return 1
		fi
		;;
	esac
	return 0
}

# net_reload ID: rewrites ID's configuration and sends SIGHUP.
net_reload() {
	local p
	if ! p=$(net_pid "$1"); then
		_net_err "net_reload: $1 is not running"
		return 1
	fi
	_net_write_conf "$1" && kill -HUP "$p"
}

# net_cleanup: every daemon still running is stopped (SIGTERM, then SIGKILL
# after 3 s) and $NET_DIR removed unless NET_KEEP is set. Safe to call twice.
net_cleanup() {
	local p live="" i=0
	for p in $_net_pids; do
		if _net_alive "$p"; then
			kill -CONT "$p" 2>/dev/null || : # a stopped one cannot take SIGTERM
			kill -TERM "$p" 2>/dev/null || :
			live="$live $p"
		fi
	done
	for p in $live; do
		while _net_alive "$p" && [ $i -lt 30 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if _net_alive "$p"; then
			kill -KILL "$p" 2>/dev/null || :
		fi
		wait "$p" 2>/dev/null || :
	done
	_net_pids=""
	if [ -n "$NET_DIR" ] && [ -d "$NET_DIR" ]; then
		if [ -n "${NET_KEEP:-}" ]; then
			echo "tracenet: kept $NET_DIR" >&2
		else
			rm -rf "$NET_DIR"
		fi
	fi
	NET_DIR=""
}
