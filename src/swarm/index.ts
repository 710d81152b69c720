/**
 * The mixture swarm's public surface: the `mixtureSwarm` builder and its result types, the
 * mixture file, and the numerical parts (law fit, cross-validation, proposer, bootstrap, paired
 * gains) for use on their own.
 */
export { mixtureSwarm, proxyTokensOf, type MixtureSwarm, type MixtureSwarmOptions, type ProxySteps } from "./swarm.ts";
export type { TrainHyperparameters } from "../steps/train/train-step.ts";
export { proxyTrainStep, proxyEvalStep, type MixtureSource, type ProxyTrainResult, type ProxyEvalResult, type SkippedProxy } from "./proxies.ts";
export type { SwarmInventory } from "./inventory.ts";
export type { SwarmPlan, ProxyMixture, SwarmSettings } from "./plan.ts";
export type { SwarmFitResult, ProposalSummary } from "./fit-step.ts";
export { MIXTURE_FILE, type MixtureSwarmSummary } from "./summary-step.ts";
export { MIXTURE_FORMAT, type SwarmStatus, type Verification } from "./mixture-file.ts";
export { fitLaw, predictLaw, type LogLinearLaw, type LawFit } from "./law.ts";
export { crossValidate, type CrossValidation, type FitData } from "./validation.ts";
export { propose, predictObjective, type LawObjective, type Proposal } from "./proposer.ts";
export { feasibleSet, isFeasible, type FeasibleSet } from "./feasible.ts";
export { analyseSwarm, type AnalysisOptions, type SwarmAnalysis } from "./analysis.ts";
export { pairedGain, type PairedGain } from "./verify.ts";
export { SwarmConfigError, SwarmInfeasibleError, SwarmSamplingError, SwarmInputError } from "./errors.ts";
