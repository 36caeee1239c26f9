package io.dittostreams.standin.connectivity;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One consumer of one source address: polls, hands each record on in partition order,
 * and commits the polled offsets once the batch has been processed (so a crash replays
 * the batch, like Ditto's at-least-once source). A new group starts at the end of the
 * topic unless specificConfig.consumerOffsetReset says otherwise, as in Ditto.
 */
final class SourceConsumer implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(SourceConsumer.class);

    private final KafkaConsumer<String, String> consumer;
    private final String address;
    private final Consumer<ConsumerRecord<String, String>> processor;
    private final AtomicBoolean assigned = new AtomicBoolean();
    private volatile boolean running = true;

    SourceConsumer(Map<String, String> specificConfig, String groupId, String clientId,
            String address, Consumer<ConsumerRecord<String, String>> processor) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, specificConfig.get("bootstrapServers"));
        props.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        props.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                specificConfig.getOrDefault("consumerOffsetReset", "latest"));
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        this.consumer = new KafkaConsumer<>(props);
        this.address = address;
        this.processor = processor;
    }

    /** True once the group gave this consumer its partitions: from then on it reads. */
    boolean assigned() {
        return assigned.get();
    }

    String address() {
        return address;
    }

    @Override
    public void run() {
        try {
            consumer.subscribe(List.of(address), new Assignment());
            while (running) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
                for (ConsumerRecord<String, String> record : records) {
                    processor.accept(record);
                }
                if (!records.isEmpty()) {
                    consumer.commitSync();
                }
            }
        } catch (WakeupException stopping) {
            LOG.debug("consumer woken up to stop address={}", address);
        } catch (RuntimeException e) {
            LOG.error("consumer failed address={}", address, e);
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    void stop() {
        running = false;
        consumer.wakeup();
    }

    private final class Assignment implements ConsumerRebalanceListener {
        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            assigned.set(!partitions.isEmpty());
            LOG.info("partitions assigned address={} partitions={}", address, partitions);
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            assigned.set(false);
        }
    }
}
