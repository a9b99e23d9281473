package sfu

import (
	"testing"
	"time"
)

// A subscriber held low by the estimate probes one layer up after the
// estimate has been stable for probeHold, keeps the probed layer while the
// estimate does not fall, and drops it when it does; never above its size
// cap.
func TestProbeLayer(t *testing.T) {
	tr := &Track{}
	for i := range numLayers {
		tr.layers[i].Store(&layer{idx: i, ring: nil})
	}
	d := newDownTrack(tr)
	t0 := time.Unix(1000, 0)
	if l := d.probe(LayerLow, t0, true, t0.Add(probeHold)); l != LayerMedium {
		t.Fatalf("stable estimate: layer %d, want a probe to %d", l, LayerMedium)
	}
	if l := d.probe(LayerLow, t0, true, t0.Add(probeHold+time.Second)); l != LayerMedium {
		t.Fatalf("probe not kept: %d", l)
	}
	if l := d.probe(LayerLow, t0, true, t0.Add(2*probeHold)); l != LayerHigh {
		t.Fatalf("second probe: %d, want %d", l, LayerHigh)
	}
	drop := t0.Add(2*probeHold + time.Second)
	if l := d.probe(LayerLow, drop, false, drop.Add(time.Millisecond)); l != LayerLow {
		t.Fatalf("after the estimate fell: layer %d, want %d", l, LayerLow)
	}
	d.sizeMax = LayerLow
	if l := d.probe(LayerLow, t0, true, drop.Add(time.Hour)); l != LayerLow {
		t.Fatalf("probed above the size cap: %d", l)
	}
}
