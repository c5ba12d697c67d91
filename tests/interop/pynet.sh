# shellcheck shell=sh disable=SC3043 # local: dash, bash and busybox sh have it
# pynet.sh: Python carriers (pycarrier.py) in a tracenet.sh network of real
# hoptraced daemons. Source tracenet.sh, then this, from a POSIX sh script:
#
#   net_init "" build/bin && py_init DIR  # DIR holds pycarrier.py; after net_init (cleanup)
#   net_carrier T --initiator
#   py_carrier PY [--initiator]           # keys and certificate from the anchor, a port
#   py_link T PY                          # T's [peer PY] and trunk TG-PY; PY's peer T, TG-T
#   py_trunk PY TG-X X                    # another trunk group on PY
#   py_rows PY LINE...                    # PY's records (LINE: OFFSET CALLING CALLED IN OUT [REF ATT])
#   net_start && py_start PY [--tamper relay-flip] && py_wait T PY || fail ...
#   py_run PY trace --calling ... >out    # a one-shot pycarrier command with PY's configuration
#   py_stop PY                            # SIGTERM, wants exit 0
#
# A Python carrier is a tracenet carrier without a daemon (net_carrier
# --no-daemon): daemons get its address as a [peer] section. Its files are in
# c/ID/: ID.key, ID.pub, ID.cert, ID.conf, records.csv, log, state/. Every
# Python process gets SIGTERM if the shell dies (setpriv --pdeathsig), and
# py_cleanup, which the EXIT trap runs before net_cleanup, stops what is left.
# The records use T0 (epoch ms, a recent minute) that py_init sets.

PY=/usr/bin/python3
PYC=""
_py_pids=""
_py_pdeath=""

py_init() {
	[ -n "$NET_DIR" ] || { _net_err "py_init: net_init first"; return 1; }
	PYC=$1/pycarrier.py
	[ -r "$PYC" ] || { _net_err "py_init: no $PYC"; return 1; }
	command -v setpriv >/dev/null && _py_pdeath="setpriv --pdeathsig TERM --"
	mkdir -p "$NET_DIR/pywork" || return 1
	trap 'py_cleanup; net_cleanup' EXIT
	T0=$((($(date +%s) - 900) / 60 * 60000))
}

# py_carrier ID [--initiator] [--days N]
py_carrier() {
	local id="$1" d
	shift
	net_carrier "$id" --no-daemon || return 1
	d=$(_net_d "$id")
	: >"$d/py" && : >"$d/pypeers" && echo "TG-LOCAL = local" >"$d/pytrunks" || return 1
	# shellcheck disable=SC2046 # the options as words
	if ! "$NET_HT" keygen -o "$d/$id" >/dev/null ||
		! "$NET_HT" ca sign --ca "$NET_DIR/anchor" --id "$id" --pub "$d/$id.pub" \
			--days 30 $(echo "$@" | sed 's/--initiator/--role initiator/') \
			-o "$d/$id.cert" >/dev/null; then
		_net_err "py carrier $id: keys or certificate failed"
		return 1
	fi
	_net_free_port >"$d/port" || return 1
	echo 'time,calling,called,in_trunk,out_trunk' >"$d/records.csv" # none yet
}

# py_link C PY: the daemon C and the Python carrier PY are peers, and each
# has a trunk group to the other (TG-PY on C, TG-C on PY).
py_link() {
	local c="$1" p="$2"
	[ -e "$(_net_d "$p")/py" ] || { _net_err "py_link: $p is not a Python carrier"; return 1; }
	net_link "$c" "$p" || return 1
	net_conf "$c" "[peer $p]\naddress = 127.0.0.1:$(net_port "$p")" || return 1
	echo "$c" >>"$(_net_d "$p")/pypeers"
	echo "TG-$c = $c" >>"$(_net_d "$p")/pytrunks"
}

# py_trunk ID NAME TARGET: trunk group NAME on the Python carrier ID leads
# to TARGET (a provider ID, or local).
py_trunk() {
	[ -e "$(_net_d "$1")/py" ] || { _net_err "py_trunk: $1 is not a Python carrier"; return 1; }
	echo "$2 = $3" >>"$(_net_d "$1")/pytrunks"
}

# py_rows ID LINE...: the carrier's records (a Python carrier: its CSV; a
# daemon: imported). LINE: "OFFSET_MS CALLING CALLED IN OUT [CUSTOMER ATTESTATION]".
py_rows() {
	local id="$1" f l
	shift
	f="$(_net_d "$id")/records.csv"
	{
		echo 'time,calling,called,in_trunk,out_trunk,customer_ref,attestation'
		for l in "$@"; do
			# shellcheck disable=SC2086 # the fields of one row
			set -- $l
			echo "$((T0 + $1)),$2,$3,$4,$5,${6:-},${7:-}"
		done
	} >"$f" || return 1
	if [ ! -e "$(_net_d "$id")/py" ]; then
		net_import "$id" "$f" || {
			_net_err "import into $id: $(cat "$(_net_d "$id")/import.err")"
			return 1
		}
	fi
}

# _py_conf ID: the Python carrier's configuration, from the network's state.
_py_conf() {
	local d p
	d=$(_net_d "$1")
	{
		printf '[identity]\nprovider_id = %s\nkey = %s/%s.key\ncertificate = %s/%s.cert\n' \
			"$1" "$d" "$1" "$d" "$1"
		printf '[trust]\nanchor = %s/anchor.pub\n' "$NET_DIR"
		printf '[listen]\naddress = 127.0.0.1:%s\n' "$(cat "$d/port")"
		printf '[state]\ndirectory = %s/state\n' "$d"
		printf '[store]\ncountry_code = 1\nrecords = %s/records.csv\n' "$d"
		printf '[policy]\nhandshake_timeout_ms = 2000\nkeepalive_ms = 1000\n'
		printf 'dead_peer_ms = 5000\nbackoff_min_ms = 50\nbackoff_max_ms = 500\n'
		printf '[trunks]\n'
		cat "$d/pytrunks"
		while read -r p; do
			printf '[peer %s]\naddress = 127.0.0.1:%s\n' "$p" "$(net_port "$p")"
		done <"$d/pypeers"
	} >"$d/$1.conf"
}

# py_start ID [run OPTIONS...]: `pycarrier.py run` in the background; returns
# once it listens (10 s).
py_start() {
	local id="$1" d i=0
	shift
	d=$(_net_d "$id")
	_py_conf "$id" || return 1
	rm -f "$d/ready"
	# shellcheck disable=SC2086 # $_py_pdeath is words or none
	TMPDIR=$NET_DIR/pywork $_py_pdeath "$PY" "$PYC" run -c "$d/$id.conf" --ready "$d/ready" \
		"$@" 2>>"$d/log" &
	echo $! >"$d/pid"
	_py_pids="$_py_pids $!"
	until [ -s "$d/ready" ]; do
		if ! _net_alive "$(cat "$d/pid")"; then
			_net_err "$id (Python) exited at start"
			_net_tail "$id"
			return 1
		fi
		if [ $i -ge 100 ]; then
			_net_err "$id (Python) not ready after 10 s"
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

# py_run ID COMMAND ARGS...: a one-shot pycarrier command (trace) with ID's
# configuration, in the foreground (at most 25 s); its log goes to ID's log.
py_run() {
	local id="$1" cmd="$2" d
	shift 2
	d=$(_net_d "$id")
	_py_conf "$id" || return 1
	# shellcheck disable=SC2086 # $_py_pdeath is words or none
	TMPDIR=$NET_DIR/pywork $_py_pdeath timeout 25 "$PY" "$PYC" "$cmd" -c "$d/$id.conf" "$@" \
		2>>"$d/log"
}

# py_verify ARGS...: `pycarrier.py verify ARGS`.
py_verify() {
	TMPDIR=$NET_DIR/pywork "$PY" "$PYC" verify "$@"
}

# py_stop ID: SIGTERM; fails unless it exits with status 0 within 5 s.
py_stop() {
	local d p i=0 rc=0
	d=$(_net_d "$1")
	p=$(cat "$d/pid" 2>/dev/null) || return 0
	kill -TERM "$p" 2>/dev/null || :
	while _net_alive "$p"; do
		if [ $i -ge 50 ]; then
			_net_err "$1 (Python) did not stop within 5 s of SIGTERM"
			kill -KILL "$p" 2>/dev/null || :
			rc=1
			break
		fi
		sleep 0.1
		i=$((i + 1))
	done
	wait "$p" 2>/dev/null || rc=$?
	rm -f "$d/pid"
	[ $rc = 0 ] || _net_err "$1 (Python) exited with status $rc"
	return $rc
}

# py_wait C PY [SECONDS]: the daemon C reports its session with PY established.
py_wait() {
	local i=0
	until [ "$(net_ht "$1" peers --json 2>/dev/null | jq -r --arg p "$2" \
		'.peers[] | select(.provider_id == $p) | .state')" = established ]; do
		if [ $i -ge $((${3:-10} * 10)) ]; then
			_net_err "$1 has no session with $2 after ${3:-10} s"
			_net_tail "$1" 5
			_net_tail "$2" 10
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

# py_cleanup: every Python process still running gets SIGTERM, then SIGKILL.
py_cleanup() {
	local p i
	for p in $_py_pids; do
		_net_alive "$p" || continue
		kill -TERM "$p" 2>/dev/null || :
		i=0
		while _net_alive "$p" && [ $i -lt 30 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null || :
		wait "$p" 2>/dev/null || :
	done
	_py_pids=""
}
