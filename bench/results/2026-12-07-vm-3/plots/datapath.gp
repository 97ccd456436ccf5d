set terminal pngcairo size 900,560 noenhanced
set output 'bench/results/2026-12-07-vm-3/datapath.png'
set title 'yard-bench-datapath: ns per packet'
set xlabel 'services'
set ylabel 'ns per packet'
set logscale x 10
set logscale y
set grid
set key below
plot 'bench/results/2026-12-07-vm-3/plots/datapath-0.dat' using 1:2 with linespoints lw 2 title 'xdp_pass (floor)', 'bench/results/2026-12-07-vm-3/plots/datapath-1.dat' using 1:2 with linespoints lw 2 title 'tc_pass (tc floor)', 'bench/results/2026-12-07-vm-3/plots/datapath-2.dat' using 1:2 with linespoints lw 2 title 'tc_pass, one packet per run', 'bench/results/2026-12-07-vm-3/plots/datapath-3.dat' using 1:2 with linespoints lw 2 title 'from_pod established flow', 'bench/results/2026-12-07-vm-3/plots/datapath-4.dat' using 1:2 with linespoints lw 2 title 'to_pod reply', 'bench/results/2026-12-07-vm-3/plots/datapath-5.dat' using 1:2 with linespoints lw 2 title 'from_pod non-service packet', 'bench/results/2026-12-07-vm-3/plots/datapath-6.dat' using 1:2 with linespoints lw 2 title 'from_pod new flow, fresh tuple', 'bench/results/2026-12-07-vm-3/plots/datapath-7.dat' using 1:2 with linespoints lw 2 title 'from_pod new flow', 'bench/results/2026-12-07-vm-3/plots/datapath-8.dat' using 1:2 with linespoints lw 2 title 'new flow, random, 4 ep', 'bench/results/2026-12-07-vm-3/plots/datapath-9.dat' using 1:2 with linespoints lw 2 title 'new flow, least-conn, 4 ep', 'bench/results/2026-12-07-vm-3/plots/datapath-10.dat' using 1:2 with linespoints lw 2 title 'from_pod new flow, maglev'
