set terminal pngcairo size 900,560 noenhanced
set output 'bench/results/2026-12-06-vm/live-nodeport-established.png'
set title 'yard-bench-live: nodeport, established flows'
set xlabel 'services'
set ylabel 'packets/s delivered'
set logscale x 10
set yrange [0:*]
set grid
set key below
plot 'bench/results/2026-12-06-vm/plots/live-nodeport-established-0.dat' using 1:2 with linespoints lw 2 title 'switchyard-xdp-stack', 'bench/results/2026-12-06-vm/plots/live-nodeport-established-1.dat' using 1:2 with linespoints lw 2 title 'switchyard-xdp-redirect', 'bench/results/2026-12-06-vm/plots/live-nodeport-established-2.dat' using 1:2 with linespoints lw 2 title 'switchyard-xdp-tx', 'bench/results/2026-12-06-vm/plots/live-nodeport-established-3.dat' using 1:2 with linespoints lw 2 title 'switchyard-tc-stack', 'bench/results/2026-12-06-vm/plots/live-nodeport-established-4.dat' using 1:2 with linespoints lw 2 title 'iptables-nodeport', 'bench/results/2026-12-06-vm/plots/live-nodeport-established-5.dat' using 1:2 with linespoints lw 2 title 'nftables-nodeport'
