set terminal pngcairo size 900,560 noenhanced
set output 'bench/results/2026-12-07-vm-3/live-clusterip-new_flows.png'
set title 'yard-bench-live: ClusterIP, frames from a pod, new flows'
set xlabel 'services'
set ylabel 'packets/s delivered'
set logscale x 10
set yrange [0:*]
set grid
set key below
plot 'bench/results/2026-12-07-vm-3/plots/live-clusterip-new_flows-0.dat' using 1:2 with linespoints lw 2 title 'switchyard', 'bench/results/2026-12-07-vm-3/plots/live-clusterip-new_flows-1.dat' using 1:2 with linespoints lw 2 title 'switchyard-bypass', 'bench/results/2026-12-07-vm-3/plots/live-clusterip-new_flows-2.dat' using 1:2 with linespoints lw 2 title 'iptables', 'bench/results/2026-12-07-vm-3/plots/live-clusterip-new_flows-3.dat' using 1:2 with linespoints lw 2 title 'nftables'
