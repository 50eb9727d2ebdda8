#!/usr/bin/env python3
"""Regenerate the seed corpora (corpus/<target>/seed-*) from the protocol
documents' example frames (../shared/seeds/*.md or $RUNNEL_SEEDS), the
shipped specs and a configuration. Inputs found by fuzzing (regression-*,
crash reproducers) are kept; only seed-* files are rewritten."""
import hashlib
import json
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SEEDS = Path(os.environ.get("RUNNEL_SEEDS", REPO.parent / "shared" / "seeds"))
SEP = b"\x1e"


def frames(md):
    """JSON objects in a markdown file: every {...} block that parses."""
    text = md.read_text(errors="replace") if md.exists() else ""
    out, depth, start = [], 0, None
    for i, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                chunk = text[start:i + 1]
                try:
                    out.append(json.dumps(json.loads(chunk)).encode())
                except ValueError:
                    # keep near-JSON too (placeholders): good mutation seeds
                    out.append(chunk.encode())
    return out


def write(target, name, data):
    d = HERE / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data)


def clear(target):
    d = HERE / "corpus" / target
    if d.exists():
        for f in d.glob("seed-*"):
            f.unlink()


def main():
    ranna = frames(SEEDS / "ranna-websocket-api.md")
    linkis = frames(SEEDS / "linkis-websocket-api-a.md") + frames(SEEDS / "linkis-websocket-api-b.md")
    zep = frames(SEEDS / "zeppelin-websocket-protocol.md")
    lenses = frames(SEEDS / "lenses-sql-websocket.md")
    for t in ("ranna_ws", "ranna_req", "http", "linkis_ws", "linkis_parts", "zeppelin_ws",
              "zeppelin_text", "lenses_ws", "lenses_sqltext", "spec", "config", "utf8", "jobe"):
        clear(t)

    ranna += [b'{"op":0,"nonce":7}', b'{"op":1,"nonce":1,"args":{"language":"python3","code":"print(1)"}}',
              b'{"op":1,"args":{"language":"bash","code":"echo $X","arguments":["a"],"environment":{"X":"1"},"inline_expression":false,"stdin":"in","interactive":true}}',
              b'{"op":2,"args":{"runid":"abc"}}', b'{"op":3,"args":{"runid":"abc","data":"x","eof":true}}',
              b'{"op":1,"args":{"language":"python3","code":"1+1","inline_expression":true}}',
              b'{"op":1,"nonce":9007199254740993,"args":{}}', b'[1,2]', b'{"op":"1"}']
    for i, f in enumerate(ranna):
        write("ranna_ws", str(i), f)
    write("ranna_ws", "multi", SEP.join(ranna[-9:]) + SEP + b"\x1f" + ranna[0])
    for i, f in enumerate(ranna):
        try:
            o = json.loads(f)
        except ValueError:
            continue
        if isinstance(o, dict) and isinstance(o.get("args"), dict):
            write("ranna_req", str(i), json.dumps(o["args"]).encode())

    for i, f in enumerate(linkis):
        write("linkis_ws", str(i), f)
        write("linkis_parts", str(i), b"/api/rest_j/v1/entrance/execute\n" + f)
    write("linkis_ws", "multi", SEP.join(linkis) + SEP + b"\x1d" + linkis[0])
    write("linkis_parts", "vars", b"/api/rest_j/v1/entrance/abc_1/log\n"
          b'{"executionCode":"select ${a} ${b} ${c}","executeApplicationName":"python",'
          b'"runType":"python","variable":{"a":"1","b":2,"c":true},"params":{"configuration":'
          b'{"runtime":{"wds.linkis.rm.yarnqueue":"q"}},"variable":{"x":"y"}}}')

    for i, f in enumerate(zep):
        write("zeppelin_ws", str(i), f)
    zmore = [b'{"op":"RUN_PARAGRAPH","msgId":"m1","principal":"anonymous","data":{"id":"p1","noteId":"n1","paragraph":"%python\\nprint(1)","config":{},"params":{}}}',
             b'{"op":"GET_NOTE","data":{"id":"n1"}}', b'{"op":"CANCEL_PARAGRAPH","data":{"id":"p1","noteId":"n1"}}',
             b'{"op":"RUN_PARAGRAPH","data":{"id":"p2","noteId":"n1","paragraph":"%md\\n# hi"}}',
             b'{"op":"LIST_NOTES"}', b'{"op":"GET_INTERPRETER_BINDINGS","data":{"noteId":"n1"}}',
             b'{"op":"EDITOR_SETTING","data":{"paragraphId":"p1","magic":"python"}}',
             b'{"op":"CANCEL_ALL_PARAGRAPHS","data":{"noteId":"n1"}}',
             b'{"op":"NEW_NOTE","data":{"name":"/team/demo","defaultInterpreterGroup":"sh"}}',
             b'{"op":"INSERT_PARAGRAPH","data":{"index":1}}',
             b'{"op":"COMMIT_PARAGRAPH","data":{"id":"p1","noteId":"n1","title":"t","paragraph":"%sh\\necho","config":{},"params":{}}}',
             b'{"op":"COPY_PARAGRAPH","data":{"index":0,"paragraph":"%md x","config":{},"params":{}}}',
             b'{"op":"MOVE_PARAGRAPH","data":{"id":"p1","index":0}}',
             b'{"op":"PATCH_PARAGRAPH","data":{"id":"p1","noteId":"n1","patch":"@@ -1,3 +1,4 @@\\n %sh\\n+x\\n"}}',
             b'{"op":"PARAGRAPH_CLEAR_OUTPUT","data":{"id":"p1"}}',
             b'{"op":"PARAGRAPH_REMOVE","data":{"id":"p2"}}',
             b'{"op":"RUN_ALL_PARAGRAPHS","data":{"noteId":"n1","paragraphs":"[{\\"id\\":\\"p1\\",\\"paragraph\\":\\"%md a\\"}]"}}',
             b'{"op":"NOTE_RENAME","data":{"id":"n1","name":"/a/b"}}',
             b'{"op":"MOVE_NOTE_TO_TRASH","data":{"id":"n1"}}',
             b'{"op":"RESTORE_NOTE","data":{"id":"n1"}}',
             b'{"op":"CLONE_NOTE","data":{"id":"n1","name":"c"}}',
             b'{"op":"IMPORT_NOTE","data":{"note":{"name":"i","paragraphs":[{"id":"q","text":"%md"}]}}}',
             b'{"op":"NOTE_UPDATE","data":{"id":"n1","name":"u","config":{}}}',
             b'{"op":"EDITOR_SETTING","data":{"paragraphId":"p1","paragraphText":"%python\\n1"}}',
             b'{"op":"FOLDER_RENAME","data":{"id":"/a","name":"/z"}}',
             b'{"op":"MOVE_FOLDER_TO_TRASH","data":{"id":"z"}}',
             b'{"op":"RESTORE_ALL"}', b'{"op":"EMPTY_TRASH"}',
             b'{"op":"DEL_NOTE","data":{"id":"n1"}}']
    for i, f in enumerate(zmore):
        write("zeppelin_ws", f"x{i}", f)
    write("zeppelin_ws", "multi", SEP.join(zmore) + SEP + b"\x1d" + zmore[1])
    for i, t in enumerate([b"%python\nprint(1)", b"%sh(a=b, c=\"d\") ls", b"%spark.pyspark x",
                           b"%md # t", b"no interpreter", b"%(", b"%jdbc(x=1"]):
        write("zeppelin_text", str(i), t)

    for i, f in enumerate(lenses):
        write("lenses_ws", str(i), bytes([i % 4]) + f)
    lmore = [b'{"sql":"SELECT * FROM ships LIMIT 10","live":false,"stats":1000}',
             b'{"sql":"SELECT _key.MMSI, _value.speed FROM ships WHERE _meta.offset > 3","live":true}',
             b'{"sql":""}', b'{"live":true}']
    for i, f in enumerate(lmore):
        write("lenses_ws", f"x{i}", bytes([i % 4]) + f)
        write("lenses_sqltext", f"x{i}", json.loads(f).get("sql", "").encode())
    for i, s in enumerate([b"SELECT a, 'x;y', \"q\"\"id\", [b] FROM t; SELECT 1 -- c\n;/* c */",
                           b"SELECT DISTINCT _value.a.b AS z FROM q WHERE q._key = 1",
                           b"INSERT INTO t VALUES ('unterminated"]):
        write("lenses_sqltext", str(i), s)

    for p in sorted((REPO / "specs").glob("*.json")):
        if p.name != "schema.json":
            write("spec", p.stem, p.read_bytes())
    cfg = {"listen": "127.0.0.1:8080", "specs": "/usr/share/runnel/specs", "log_level": "info",
           "limits": {"concurrency": 2, "queue": 64, "per_connection": 4, "wall_ms": 10000,
                      "cpu_ms": 10000, "memory_bytes": 268435456, "output_bytes": 1048576,
                      "code_bytes": 262144, "message_bytes": 1048576, "pids": 64,
                      "idle_client_ms": 10000, "queue_bytes": 262144, "connections_per_ip": 0,
                      "runs_per_minute_per_ip": 0, "nofile": 256, "tmp_bytes": 67108864},
           "cache": {"dir": "/var/cache/runnel", "max_bytes": 536870912},
           "sandbox": {"uid_first": 200000, "uid_count": 65536, "cgroup": "runnel", "no_cgroup": False},
           "auth": {"tokens": ["t0k3n"]}, "security": {"origins": ["*"], "trusted_proxies": ["10.0.0.1"]},
           "playground": True,
           "linkis": {"retention_ms": 600000, "max_jobs": 1000, "max_log_bytes": 1048576,
                      "session_timeout_ms": 7200000, "instance": "node1:8080",
                      "kill_on_disconnect": False, "users": {"alice": "secret"}},
           "zeppelin": {"path": "/ws", "max_notes": 100, "max_paragraphs": 100, "max_watchers": 8,
                        "note_ttl_ms": 3600000, "progress_interval_ms": 500,
                        "store_bytes": 1048576, "default_interpreter": "python",
                        "interpreters": {"py": "python3"}},
           "lenses": {"environments": {"demo": "/tmp", "prod": {"path": "/tmp", "auth": True}},
                      "tokens": {"abcdefgh1": ["prod"]}, "auth": False, "max_rows": 100,
                      "max_bytes": 65536, "max_time_ms": 1000, "heartbeat_ms": 500}}
    write("config", "full", json.dumps(cfg, indent=1).encode())
    write("config", "min", b"{}")
    write("config", "bad-line", b'{\n "limits": {\n  "wall_ms": -1\n }\n}\n')

    http = [b"POST /v1/exec\ncontent-type: application/json\n\n" + b'{"language":"python3","code":"print(1)"}',
            b"GET /v1/spec\n\n", b"OPTIONS /v1/exec\n\n", b"GET /v1/ws\n\n",
            b"GET /healthz\n\n", b"GET /metrics\n\n", b"GET /\n\n",
            b"GET /v1/ws?token=a%20b+c\nupgrade: websocket\nauthorization: Bearer x\n\n",
            b"POST /api/rest_j/v1/entrance/execute\ncookie: linkis_user_session_ticket_id_v1=abc\n\n"
            b'{"executionCode":"print(1)","runType":"python","executeApplicationName":"python"}',
            b"GET /api/rest_j/v1/entrance/abc/log?fromLine=1&size=100\n\n",
            b"POST /api/rest_j/v1/user/login\n\n" + b'{"userName":"alice","password":"secret"}',
            b"GET /api/rest_j/v1/jobhistory/list\n\n", b"GET /api/security/ticket\n\n",
            b"GET /api/version\n\n",
            b"GET /api/v1/environments/secure/proxy/api/ws/v2/sql/execute\nupgrade: websocket\nauthorization: Bearer fuzz-token-1\n\n",
            b"GET /api/ws/v2/sql/execute\n\n"]
    for i, h in enumerate(http):
        write("http", str(i), h)

    for i, u in enumerate([b"\x03hello \xe2\x82\xac \xf0\x9f\x98\x80", b"\x00\xff\xfe\xc0\x80\xed\xa0\x80",
                           b"\x07<>&\u2028".replace(b"\\u2028", "\u2028".encode()) + b"\x00\x1f\"\\",
                           b"\x02" + "日本語テキスト".encode() + b"\xe6\x97"]):
        write("utf8", str(i), u)

    # jobe: selector byte (method = b % 6: GET POST PUT HEAD OPTIONS DELETE;
    # bit 3: the prefix without index.php), "path\n", body.
    java = ("public class Hi {\n  public static void main(String[] a) {\n"
            "    System.out.println(1);\n  }\n}\n")
    jobe = [b"\x00languages\n", b"\x08languages/\n",
            b"\x01runs\n" + json.dumps({"run_spec": {"language_id": "python3", "sourcecode": "print(1)",
                                                     "input": "x", "sourcefilename": "t.py"}}).encode(),
            b"\x01runs/\n" + json.dumps({"run_spec": {
                "language_id": "c", "sourcecode": "int main(){}", "file_list": [["abcdefgh1", "f.txt"]],
                "parameters": {"cputime": 3, "memorylimit": 100, "numprocs": 5, "disklimit": 1,
                               "streamsize": 1, "compileargs": ["-O0"], "linkargs": ["-lm"],
                               "interpreterargs": [], "runargs": ["a b"]}}}).encode(),
            b"\x01runs\n" + json.dumps({"run_spec": {"language_id": "java", "sourcecode": java}}).encode(),
            b"\x02files/abcdefgh1\n" + json.dumps({"file_contents": "aGVsbG8="}).encode(),
            b"\x02files/abcdefgh1\n" + json.dumps({"file_contents": "a=GVsbG8"}).encode(),
            b"\x03files/abcdefgh1\n", b"\x04runs\n", b"\x05files/x\n", b"\x00runresults/1\n",
            b"\x01runs\n\xff\xfe" + java.encode()]
    for i, j in enumerate(jobe):
        write("jobe", str(i), j)


if __name__ == "__main__":
    sys.exit(main())
