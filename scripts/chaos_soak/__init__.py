# SPDX-License-Identifier: Apache-2.0
# The chaos soak (scripts/chaos-soak): its lab, traffic and events.
