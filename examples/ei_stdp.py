"""A small excitatory/inhibitory network with STDP on its input, written for SpiNNaker (pyNN.spiNNaker).
neurodeploy runs it unchanged on brian2, spinnaker or lava and deploys it to spinn5 or loihi2 (README)."""

import pyNN.spiNNaker as sim

sim.setup(timestep=1.0)
sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 64)  # placement: neurodeploy accepts and ignores it

cell = sim.IF_curr_exp(tau_m=20.0, v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0, tau_refrac=2.0)
excitatory = sim.Population(80, cell, label="E")
inhibitory = sim.Population(20, cell, label="I")
noise = sim.Population(50, sim.SpikeSourcePoisson(rate=20.0), label="noise")

rng = sim.NumpyRNG(seed=4242)
stdp = sim.STDPMechanism(
    timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.02, A_minus=0.02),
    weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=2.0),
    weight=1.0,
    delay=1.0,
)
sim.Projection(noise, excitatory, sim.FixedProbabilityConnector(0.2, rng=rng), stdp, receptor_type="excitatory")
sim.Projection(noise, inhibitory, sim.FixedProbabilityConnector(0.2, rng=rng), sim.StaticSynapse(weight=1.0, delay=1.0))
sim.Projection(
    excitatory, inhibitory, sim.FixedProbabilityConnector(0.1, rng=rng), sim.StaticSynapse(weight=0.5, delay=2.0)
)
sim.Projection(
    inhibitory,
    excitatory,
    sim.FixedProbabilityConnector(0.2, rng=rng),
    sim.StaticSynapse(weight=1.0, delay=1.0),
    receptor_type="inhibitory",
)

excitatory.record("spikes")
inhibitory.record("spikes")
sim.run(500.0)
spikes = excitatory.get_data().segments[0].spiketrains
print(f"E fired {sum(len(train) for train in spikes)} spikes")
sim.end()
