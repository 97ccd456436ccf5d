set terminal pngcairo size 900,560 noenhanced
set output 'bench/results/2026-12-07-vm-3/live-nodeport-remote-established.png'
set title 'yard-bench-live: NodePort, endpoints on another node: DNAT + SNAT on both sides, established flows'
set xlabel 'services'
set ylabel 'packets/s delivered'
set logscale x 10
set yrange [0:*]
set grid
set key below
plot 'bench/results/2026-12-07-vm-3/plots/live-nodeport-remote-established-0.dat' using 1:2 with linespoints lw 2 title 'switchyard-xdp-tx', 'bench/results/2026-12-07-vm-3/plots/live-nodeport-remote-established-1.dat' using 1:2 with linespoints lw 2 title 'iptables-nodeport-remote', 'bench/results/2026-12-07-vm-3/plots/live-nodeport-remote-established-2.dat' using 1:2 with linespoints lw 2 title 'nftables-nodeport-remote'
