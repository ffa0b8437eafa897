/**
 * The GPU adapter types and their wording live in shared/ (the renderer's backend picker names the
 * adapter too); the engine's modules import them from here.
 */
export * from '../../../shared/dto/gpu-adapter';
