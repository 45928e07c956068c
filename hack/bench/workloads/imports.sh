# A Python start that imports json, sqlite3 and http.server.
set -eu
start=$(date +%s%N)
python3 -c 'import json, sqlite3, http.server; print("imported", json.dumps([sqlite3.sqlite_version_info[0]]))'
end=$(date +%s%N)
echo elapsed "$(( (end - start) / 1000 ))e-6"
