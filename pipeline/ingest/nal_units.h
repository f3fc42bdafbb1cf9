// H.264 and H.265 access units: is this one disposable (no other picture refers to it)?
//
// H.264: a picture whose slices all have nal_ref_idc == 0 (non-reference B frames, the top
// temporal layer of "SVC" cameras) can be dropped before the decoder without harming any other
// picture. H.265 has no nal_ref_idc: a sub-layer non-reference picture (slice NAL types TRAIL_N,
// TSA_N, STSA_N, RADL_N, RASL_N and the reserved even types below 16) is not referred to by
// pictures of its own temporal sub-layer, but may be by a higher one; so it is disposable only on
// the stream's highest sub-layer (sps_max_sub_layers_minus1 of the SPS, or numTemporalLayers of
// the hvcC codec_data). Non-reference B frames of a single-layer stream are TRAIL_N on sub-layer 0.
// Internal to skynet_ingest, GStreamer-free, pure: safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace skynet::ingest {

// `nal_length_size`: 1..4 for length-prefixed units (stream-format avc; the size comes from
// codec_data), 0 for Annex B start codes (byte-stream). True only if the unit holds at least one
// slice (NAL types 1..5) and every slice has nal_ref_idc 0; false on anything malformed.
bool H264AccessUnitIsDisposable(const uint8_t* data, size_t size, int nal_length_size);

// `nal_length_size` as above (stream-format hvc1/hev1, from codec_data; 0 for byte-stream).
// `top_temporal_id`: the stream's highest TemporalId (sps_max_sub_layers_minus1), -1 while
// unknown; an SPS in the unit updates it before the unit is judged. True only if the unit holds at
// least one slice (NAL types 0..31), every slice is a sub-layer non-reference picture, and every
// slice's TemporalId is the known highest; false on anything malformed.
bool H265AccessUnitIsDisposable(const uint8_t* data, size_t size, int nal_length_size,
                                int* top_temporal_id);

// From H.265 codec_data (an HEVCDecoderConfigurationRecord, ISO/IEC 14496-15): the NAL length
// size (1..4) and the highest TemporalId (numTemporalLayers - 1; -1 when it says unknown).
// False if the record is too short or not version 1.
bool ParseHevcConfig(const uint8_t* data, size_t size, int* nal_length_size, int* top_temporal_id);

}  // namespace skynet::ingest
