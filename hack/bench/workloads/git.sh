# git add + commit of 2000 small files, then status and log (the files are made first).
set -eu
export HOME=/work GIT_CONFIG_NOSYSTEM=1
mkdir /work/repo && cd /work/repo
python3 -c 'import os
for i in range(2000):
    d = "d%02d" % (i % 40)
    os.makedirs(d, exist_ok=True)
    open("%s/f%04d.txt" % (d, i), "w").write("file %d\n" % i)'
start=$(date +%s%N)
git init -q .
git add .
git -c user.name=bench -c user.email=bench@example.org commit -qm files
echo "file 2000" > d00/f2000.txt
git status --porcelain | wc -l
git -c user.name=bench -c user.email=bench@example.org commit -qam again --allow-empty
git log --oneline | wc -l
git ls-files | wc -l
end=$(date +%s%N)
echo elapsed "$(( (end - start) / 1000 ))e-6"
