# Shared by the bench scripts (sourced, not run).

# Write DIR/seed-100.json: fixtures/workloads/seed-20-jobs.json with `repeat: 100`, the issue's
# 100-job seed workload.
seed_100_workload() {
    python3 -c "
import json, sys; w = json.load(open('fixtures/workloads/seed-20-jobs.json'))
w['repeat'] = 100; w['name'] = 'seed-100'
json.dump(w, open(sys.argv[1] + '/seed-100.json', 'w'))" "$1"
}
